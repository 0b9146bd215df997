/// <reference types="vite/client" />

interface ImportMetaEnv {
  /** Base URL of the management API (without /v1); empty or unset = this origin. */
  readonly VITE_API_BASE?: string;
}

interface ImportMeta {
  readonly env: ImportMetaEnv;
}
