/**
 * esbuild externals of every function (bench/coldstart.ts and
 * test/infra/bundle.test.ts bundle with the same list).
 * Besides the AWS SDK (in the runtime): two undici files that are only ever required lazily
 * and never on our path, left out of the bundle (a require of them would throw):
 * - the non-SIMD llhttp build, undici's fallback when WebAssembly SIMD is missing (Node 22
 *   on arm64 and x64 has it; only UNDICI_NO_WASM_SIMD=1 or JEST_WORKER_ID would load it);
 * - fetch's body extraction, used only for FormData request bodies.
 * The paths are undici internals: re-check them when bumping the pinned undici version.
 */
export const BUNDLE_EXTERNALS: readonly string[] = ['@aws-sdk/*', '*/llhttp/llhttp-wasm.js', '*/web/fetch/body.js'];
