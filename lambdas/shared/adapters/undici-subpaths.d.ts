// Types of the undici modules the sender imports directly (http-sender.ts): undici ships
// types for its package index only. Pinned undici version: these paths are not public API.
declare module 'undici/lib/dispatcher/agent' {
  import { Agent } from 'undici';
  export default Agent;
}
declare module 'undici/lib/core/connect' {
  import { buildConnector } from 'undici';
  export default buildConnector;
}
declare module 'undici/lib/core/errors' {
  import { errors } from 'undici';
  export default errors;
}
declare module 'undici/lib/api/api-request' {
  import type { Dispatcher } from 'undici';
  /** `Dispatcher.prototype.request`: call it with the dispatcher as `this`. */
  function request(this: Dispatcher, options: Dispatcher.RequestOptions): Promise<Dispatcher.ResponseData>;
  export default request;
}
