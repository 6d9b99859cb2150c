/**
 * The chat's wire protocol, declared once and imported by the server and the browser
 * client. README.md ("Client protocol") documents it for other clients.
 */

export * from './wire';
export * from './events';
