/**
 * The package's programmatic API (`import { startService } from 'jcs-redis'`): an ephemeral service for
 * tests and CI (ephemeral-service.ts). The CLI is `bin/jcs-redis.js`.
 *
 *   const svc = await startService();
 *   // svc.endpoint, svc.accessKey, svc.secretKey, svc.region: what a JD Cloud SDK client needs
 *   await svc.stop(); // every instance and file removed
 */
export { startEphemeralService as startService } from './ephemeral-service.ts';
export type { EphemeralEndpoint, EphemeralOptions, EphemeralService } from './ephemeral-service.ts';
