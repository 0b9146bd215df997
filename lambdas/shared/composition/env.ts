/** Environment helpers: configuration is read once at module scope and fails fast. */

export function requiredEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new Error(`missing required environment variable ${name}`);
  return value;
}

export function optionalEnv(name: string, env: NodeJS.ProcessEnv = process.env): string | undefined {
  const value = env[name];
  return value === undefined || value === '' ? undefined : value;
}

export function booleanEnv(name: string, fallback: boolean, env: NodeJS.ProcessEnv = process.env): boolean {
  const value = optionalEnv(name, env);
  if (value === undefined) return fallback;
  if (/^(1|true|yes|on)$/i.test(value)) return true;
  if (/^(0|false|no|off)$/i.test(value)) return false;
  throw new Error(`environment variable ${name} must be true or false, got "${value}"`);
}

export function numberEnv(name: string, fallback: number, env: NodeJS.ProcessEnv = process.env): number {
  const value = optionalEnv(name, env);
  if (value === undefined) return fallback;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0) throw new Error(`environment variable ${name} must be a non-negative number, got "${value}"`);
  return parsed;
}

/** Parses a retry schedule such as `5,300,1800` (seconds after the first attempt). */
export function parseRetrySchedule(value: string): number[] {
  const parts = value.split(',').map((part) => part.trim());
  const seconds = parts.map(Number);
  if (parts.length === 0 || parts.some((p) => p === '') || seconds.some((s) => !Number.isFinite(s) || s < 0)) {
    throw new Error(`retry schedule must be comma-separated non-negative seconds, got "${value}"`);
  }
  return seconds;
}
