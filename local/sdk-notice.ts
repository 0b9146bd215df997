/**
 * The AWS SDK for JavaScript prints, once per process on Node < 22, that its versions published
 * after the first week of January 2027 require Node 22. The README states Node 22 as the baseline
 * and Node 20.19+ as still working; the notice would only add noise to `npm start` and to every CLI
 * here, so they import this module first. It sets the SDK's documented switch
 * (AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED) only where the notice would appear, and never
 * overrides a value the user set.
 */

/** Sets the switch on Node < 22; returns whether it did. */
export function quietSdkNodeNotice(nodeVersion: string = process.versions.node, env: NodeJS.ProcessEnv = process.env): boolean {
  const major = Number.parseInt(nodeVersion.replace(/^v/, ''), 10);
  if (!(major < 22) || env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED !== undefined) return false;
  env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED = 'true';
  return true;
}

quietSdkNodeNotice();
