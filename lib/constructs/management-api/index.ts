/**
 * The management API construct and its parts: the functions (functions.ts), the gateway
 * responses in the API's error shape (gateway-responses.ts), CORS for the dashboard (cors.ts),
 * the access log line (access-log.ts) and the notes on accepted cdk-nag findings (nag-notes.ts).
 */
export { API_STAGE_NAME, ManagementApi } from './management-api';
export type { ManagementApiProps } from './props';
export { API_FUNCTION_TIMEOUT, API_HANDLER_ENTRY, AUTHORIZER_FUNCTION_TIMEOUT, AUTHORIZER_HANDLER_ENTRY } from './functions';
export { CORS_ALLOW_HEADERS, CORS_ALLOW_METHODS, CORS_EXPOSE_HEADERS, CORS_MAX_AGE } from './cors';
export { GATEWAY_RESPONSES } from './gateway-responses';
