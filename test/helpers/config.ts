import { ConfigError, loadConfig, type Env } from '../../src/config';

/** The problems a configuration is refused for, one line each (fails if it is accepted). */
export function configProblems(env: Env): string[] {
  try {
    loadConfig({ NODE_ENV: 'test', ...env });
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  throw new Error('expected the configuration to be refused');
}
