#!/usr/bin/env node
import { buildApp } from '../lib/build-app';
import { ConfigError } from '../lib/config';

// The CDK CLI passes context (-c stage=prod) through the environment; the App reads it
// and synthesizes on exit.
try {
  buildApp();
} catch (err) {
  if (!(err instanceof ConfigError)) throw err;
  console.error(`error: ${err.message}`);
  process.exitCode = 1;
}
