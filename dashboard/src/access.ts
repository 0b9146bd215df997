/**
 * How this tab is signed in: an API key the visitor pasted, or a portal session the platform
 * opened for its signed-in customer (the token in the URL fragment, docs/dashboard.md). A
 * read-only session hides every control that would change something; the API refuses them
 * anyway (403).
 */
import { createContext } from 'preact';
import { useContext } from 'preact/hooks';

export interface Access {
  readonly readOnly: boolean;
}

export const AccessContext = createContext<Access>({ readOnly: false });
export const useAccess = (): Access => useContext(AccessContext);
