/**
 * Domain errors of the management operations. Each carries what a caller needs to answer
 * the client (the API maps them to 400/404/409); none carries a stack trace to the client.
 */

/** One failed rule: `path` names the field (`url`, `headers.Host`, `eventTypes[1]`). */
export interface FieldIssue {
  readonly path: string;
  readonly message: string;
}

/** Input that breaks a rule (400). */
export class ValidationError extends Error {
  constructor(readonly details: readonly FieldIssue[]) {
    super(details.length === 1 && details[0] ? `${details[0].path || 'request'}: ${details[0].message}` : 'request is not valid');
    this.name = 'ValidationError';
  }

  static of(path: string, message: string): ValidationError {
    return new ValidationError([{ path, message }]);
  }
}

/** The resource does not exist for this account (404); another account's resource is "not found" too. */
export class NotFoundError extends Error {
  constructor(readonly resource: string) {
    super(`${resource} not found`);
    this.name = 'NotFoundError';
  }
}

/** The request conflicts with the resource's state (409); `code` says which conflict. */
export class ConflictError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConflictError';
  }
}

/** The account already has the maximum number of webhooks. */
export class WebhookLimitError extends ConflictError {
  constructor(readonly limit: number) {
    super('webhook_limit_reached', `an account can have at most ${limit} webhooks`);
    this.name = 'WebhookLimitError';
  }
}

/** A pagination cursor that this service did not hand out (or that was altered). */
export class InvalidCursorError extends Error {
  constructor() {
    super('cursor is not valid');
    this.name = 'InvalidCursorError';
  }
}
