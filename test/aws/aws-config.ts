/**
 * Endpoint, region and credentials of the AWS clients that talk to an emulator (moto server,
 * LocalStack). Its own module so that the provisioner and the emulator runtime, which both
 * need it, do not import each other.
 */

/** Endpoint, region and credentials for every AWS client of the emulator suite. */
export interface EmulatorAwsConfig {
  readonly endpoint: string;
  readonly region: string;
  readonly credentials: { readonly accessKeyId: string; readonly secretAccessKey: string; readonly sessionToken?: string };
}

/**
 * The client configuration for `endpoint`: region from `AWS_REGION`/`AWS_DEFAULT_REGION`
 * (default us-east-1), credentials from `AWS_ACCESS_KEY_ID`/`AWS_SECRET_ACCESS_KEY` or fixed
 * dummy ones (emulators accept any; fixed ones keep the SDK from searching for a profile).
 */
export function emulatorAwsConfig(endpoint: string, env: NodeJS.ProcessEnv = process.env): EmulatorAwsConfig {
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1';
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken } = env;
  const credentials =
    accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}) } : { accessKeyId: 'testing', secretAccessKey: 'testing' };
  return { endpoint, region, credentials };
}
