/**
 * runCli in-process against the stub server: output formats, flag → query mapping and the --wait
 * exit codes that the real service cannot be made to produce on demand (status "error").
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { instanceBody, runCliAgainstStub, startStubServer, type StubRequest, type StubServer } from './stub-api-server.ts';

let stub: StubServer;

beforeAll(async () => {
  stub = await startStubServer();
});
afterAll(() => stub.close());
beforeEach(() => {
  stub.requests = [];
});

const run = (args: string[], opts: { tty?: boolean; stdin?: string } = {}) => runCliAgainstStub(stub, args, opts);

/** Answers create/describe/delete like the service would, walking describe through `statuses`. */
function lifecycle(statuses: string[]): void {
  let polls = 0;
  stub.handler = (req: StubRequest) => {
    if (req.method === 'POST' && req.url.endsWith('/cacheInstance')) {
      return { body: { requestId: 'r', result: { cacheInstanceId: 'redis-new', orderNum: '1', buyId: 'B1' } } };
    }
    if (req.method === 'GET') {
      const status = statuses[Math.min(polls++, statuses.length - 1)] as string;
      if (status === 'gone') {
        return { status: 404, body: { requestId: 'r', error: { code: 404, status: 'NOT_FOUND', message: 'gone' } } };
      }
      return { body: { requestId: 'r', result: { cacheInstance: instanceBody('redis-new', status) } } };
    }
    return { body: { requestId: 'r', result: { orderNum: '2' } } };
  };
}

describe('jcs-redis in-process', () => {
  it('list --json prints exactly the API result; flags become the SDK-style query', async () => {
    const result = { cacheInstances: [instanceBody('redis-a', 'running')], totalCount: 1 };
    stub.handler = () => ({ body: { requestId: 'r', result } });
    const out = await run(['list', '--json', '--status', 'running,error', '--name', 'de', '--filter', 'redisVersion=4.0', '--sort', 'createTime:desc', '--tag', 'env=prod', '--page', '2', '--page-size', '10']);
    expect(out.code).toBe(0);
    expect(JSON.parse(out.stdout)).toEqual(result);
    expect(stub.requests[0]?.url).toBe(
      '/v1/regions/cn-north-1/cacheInstance?pageNumber=2&pageSize=10&filters.1.name=cacheInstanceStatus&filters.1.values.1=running&filters.1.values.2=error' +
        '&filters.2.name=cacheInstanceName&filters.2.values.1=de&filters.3.name=redisVersion&filters.3.values.1=4.0' +
        '&tagFilters.1.key=env&tagFilters.1.values.1=prod&sorts.1.name=createTime&sorts.1.direction=desc',
    );
  });

  it('allow sends the list as one PATCH body; ips prints one CIDR a line', async () => {
    stub.handler = (req) => (req.method === 'GET' ? { body: { requestId: 'r', result: { ipWhiteList: ['10.0.0.0/8', '192.168.1.7/32'] } } } : { body: { requestId: 'r' } });
    const set = await run(['allow', 'redis-a', '--ip', '10.0.0.0/8, 192.168.1.7']);
    expect(set).toMatchObject({ code: 0, stdout: 'redis-a admits 10.0.0.0/8, 192.168.1.7\n' });
    expect(stub.requests[0]).toMatchObject({ method: 'PATCH', url: '/v1/regions/cn-north-1/cacheInstance/redis-a/ipWhiteList' });
    expect(JSON.parse(stub.requests[0]!.body)).toEqual({ ipWhiteList: ['10.0.0.0/8', '192.168.1.7'] });
    expect(await run(['ips', 'redis-a'])).toMatchObject({ code: 0, stdout: '10.0.0.0/8\n192.168.1.7/32\n' });
    expect((await run(['allow', 'redis-a'])).code).toBe(2); // --ip is required
  });

  it('list prints a table, and a hint when there are more pages', async () => {
    stub.handler = () => ({ body: { requestId: 'r', result: { cacheInstances: [instanceBody('redis-a', 'running')], totalCount: 12 } } });
    const out = await run(['list']);
    expect(out.stdout).toMatch(/^ID\s+NAME\s+STATUS\s+CLASS\s+MEMORY\s+ENDPOINT\s+CREATED\n/);
    expect(out.stdout).toMatch(/redis-a\s+demo\s+running\s+redis\.m\.micro\.basic\s+1 GB\s+127\.0\.0\.1:6400/);
    expect(out.stdout).toContain('(1 of 12; see --page and --page-size)');
  });

  it('create --wait --quiet polls until running and prints only the id, with nothing extra when piped', async () => {
    lifecycle(['creating', 'creating', 'running']);
    const out = await run(['create', '--name', 'demo', '--password', 'Passw0rd1', '--wait', '--quiet']);
    expect(out).toEqual({ code: 0, stdout: 'redis-new\n', stderr: '' });
    expect(JSON.parse(stub.requests[0]?.body ?? '')).toEqual({
      cacheInstance: {
        vpcId: 'vpc-default',
        subnetId: 'subnet-default',
        cacheInstanceName: 'demo',
        cacheInstanceClass: 'redis.m.micro.basic',
        redisVersion: '4.0',
        azId: { master: 'cn-north-1a', slave: 'cn-north-1b' },
        password: 'Passw0rd1',
      },
    });
    expect(stub.requests.filter((r) => r.method === 'GET')).toHaveLength(3);
  }, 10_000);

  it('create --wait on a terminal draws a spinner with status and elapsed time, then the details', async () => {
    lifecycle(['creating', 'running']);
    const out = await run(['create', '--name', 'demo', '--wait'], { tty: true });
    expect(out.code).toBe(0);
    const clearLine = '\r\u001b[2K';
    expect(out.stdout).toContain(clearLine);
    expect(out.stdout.split(clearLine).some((frame) => /^. redis-new: creating \(\ds\)$/.test(frame))).toBe(true);
    expect(out.stdout).toMatch(/ID\s+redis-new\n/);
    expect(out.stdout).toMatch(/Endpoint\s+127\.0\.0\.1:6400\n/);
  }, 10_000);

  it('create --json prints the create result; --spec merges extra fields', async () => {
    lifecycle(['running']);
    const out = await run(['create', '--name', 'demo', '--json', '--spec', '{"dbNum":32}']);
    expect(JSON.parse(out.stdout)).toEqual({ cacheInstanceId: 'redis-new', orderNum: '1', buyId: 'B1' });
    expect(JSON.parse(stub.requests[0]?.body ?? '').cacheInstance.dbNum).toBe(32);
  });

  it('resize --wait exits 5 when the instance goes to error', async () => {
    lifecycle(['changing', 'error']);
    const out = await run(['resize', 'redis-new', '--class', 'redis.m.small.basic', '--wait']);
    expect(out.code).toBe(5);
    expect(out.stderr).toBe('error: instance redis-new went to status "error"\n');
  }, 10_000);

  it('delete --wait waits until the instance is gone', async () => {
    lifecycle(['deleting', 'gone']);
    const out = await run(['delete', 'redis-new', '--wait']);
    expect(out).toEqual({ code: 0, stdout: 'redis-new deleted\n', stderr: '' });
    expect(stub.requests.map((r) => r.method)).toEqual(['DELETE', 'GET', 'GET']);
  }, 10_000);

  it('reset-password --no-password sends {} and --password sends the password', async () => {
    lifecycle(['running']);
    expect((await run(['reset-password', 'redis-new', '--no-password'])).stdout).toBe('redis-new is becoming password-free\n');
    expect((await run(['reset-password', 'redis-new', '--password', 'Passw0rd2', '--quiet'])).stdout).toBe('redis-new\n');
    expect(stub.requests.map((r) => r.body)).toEqual(['{}', '{"password":"Passw0rd2"}']);
  });

  it('--password-stdin reads the first line of standard input, for create and reset-password', async () => {
    lifecycle(['running']);
    expect((await run(['create', '--name', 'demo', '--password-stdin', '--quiet'], { stdin: 'Secr3tPass\nignored\n' })).code).toBe(0);
    expect(JSON.parse(stub.requests[0]?.body ?? '').cacheInstance.password).toBe('Secr3tPass');
    expect((await run(['reset-password', 'redis-new', '--password-stdin'], { stdin: 'Other1Pass\r\n' })).code).toBe(0);
    expect(stub.requests[1]?.body).toBe('{"password":"Other1Pass"}');
    const empty = await run(['reset-password', 'redis-new', '--password-stdin'], { stdin: '' });
    expect(empty).toMatchObject({ code: 2, stderr: 'error: --password-stdin: standard input is empty\n' });
    const both = await run(['reset-password', 'redis-new', '--password-stdin', '--password', 'x'], { stdin: 'y' });
    expect(both.code).toBe(2);
    expect(stub.requests).toHaveLength(2);
  });

  it('rename without --json prints a confirmation; with --json the (empty) result', async () => {
    stub.handler = () => ({ body: { requestId: 'r' } });
    expect((await run(['rename', 'redis-a', '--name', 'other'])).stdout).toBe('redis-a updated\n');
    expect((await run(['rename', 'redis-a', '--description', 'd', '--json'])).stdout).toBe('{}\n');
    expect(stub.requests.map((r) => r.body)).toEqual(['{"cacheInstanceName":"other"}', '{"cacheInstanceDescription":"d"}']);
  });

  it('usage errors found by our own checks exit 2 and send nothing', async () => {
    for (const args of [
      ['rename', 'redis-a'],
      ['reset-password', 'redis-a'],
      ['create', '--name', 'x', '--az', 'only-one'],
      ['create', '--name', 'x', '--spec', '[1]'],
      ['list', '--sort', 'createTime:sideways'],
      ['list', '--filter', 'novalue'],
      ['list', '--page', '0'],
    ]) {
      const out = await run(args);
      expect({ args, code: out.code }).toEqual({ args, code: 2 });
      expect(out.stderr).toMatch(/error/);
    }
    expect(stub.requests).toEqual([]);
  });
});
