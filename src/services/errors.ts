import type { ErrorBody, ErrorCode } from '../shared/protocol';
import { StoreUnavailableError } from '../store/types';

/** An error a user can act on: a stable code for clients, a message for people. */
export class ChatError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'ChatError';
  }
}

/** Maps any thrown value to what a client is told; unknown errors stay vague. */
export function toErrorBody(error: unknown): ErrorBody {
  if (error instanceof ChatError) return { code: error.code, message: error.message };
  if (error instanceof StoreUnavailableError) return { code: 'STORE_UNAVAILABLE', message: error.message };
  return { code: 'INTERNAL', message: 'Something went wrong on the server' };
}

export function isExpected(error: unknown): boolean {
  return error instanceof ChatError || error instanceof StoreUnavailableError;
}
