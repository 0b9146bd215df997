import { render } from 'preact';
import { normalizeApiBase } from './api';
import { App } from './app';
import './styles.css';

/**
 * Where the API is: `config.json` beside index.html (written at deploy time by the CDK
 * construct, so one deploy wires it), else VITE_API_BASE (build time), else this origin.
 */
async function apiBase(): Promise<string> {
  const built = normalizeApiBase(import.meta.env.VITE_API_BASE);
  try {
    const response = await fetch('/config.json', { cache: 'no-store', headers: { accept: 'application/json' } });
    if (response.ok && (response.headers.get('content-type') ?? '').includes('json')) {
      const config = (await response.json()) as { apiBase?: unknown };
      if (typeof config.apiBase === 'string' && config.apiBase.trim()) return normalizeApiBase(config.apiBase);
    }
  } catch {
    // no runtime configuration: use the build's
  }
  return built;
}

const root = document.getElementById('app');
if (root) {
  void apiBase().then((base) => render(<App apiBase={base} />, root));
}
