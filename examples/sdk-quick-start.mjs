// The official JD Cloud SDK against jcs-redis: only the endpoint changes.
// Run: JCS_ACCESS_KEY=… JCS_SECRET_KEY=… node examples/sdk-quick-start.mjs
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const Redis = require('jdcloud-sdk-js/src/services/redis');

const redis = new Redis({
  credentials: { accessKeyId: process.env.JCS_ACCESS_KEY, secretAccessKey: process.env.JCS_SECRET_KEY },
  regionId: 'cn-north-1',
  endpoint: { host: process.env.JCS_HOST_PORT ?? '127.0.0.1:8000', protocol: 'http' },
});

const { result } = await redis.createCacheInstance({
  cacheInstance: {
    vpcId: 'vpc-1', subnetId: 'subnet-1', cacheInstanceName: 'demo', cacheInstanceClass: 'redis.m.micro.basic',
    password: 'Abcd1234', azId: { master: 'cn-north-1a', slave: 'cn-north-1b' }, redisVersion: '4.0',
  },
});
const id = result.cacheInstanceId;

// Creating is asynchronous: poll until the instance is verified running.
let instance;
do {
  await new Promise((r) => setTimeout(r, 200));
  instance = (await redis.describeCacheInstance({ cacheInstanceId: id })).result.cacheInstance;
} while (instance.cacheInstanceStatus === 'creating');
console.log(`${id} ${instance.cacheInstanceStatus} at ${instance.connectionDomain}:${instance.port}`);

await redis.deleteCacheInstance({ cacheInstanceId: id });
console.log(`${id} deleting`);
