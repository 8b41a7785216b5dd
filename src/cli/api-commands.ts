import { Command, InvalidArgumentError, Option } from 'commander';
import type { CacheInstance, Filter, Sort, TagFilter } from '../client/api-types.ts';
import { RedisApiClient } from '../client/redis-api-client.ts';
import { nodeHttpFetch } from '../client/node-http-fetch.ts';
import { waitForInstance } from '../client/wait-for-instance.ts';
import type { CliIo } from './cli-io.ts';
import { UsageError } from './exit-codes.ts';
import { formatClasses, formatEvents, formatInstance, formatInstanceList, formatQuota } from './instance-output.ts';
import { resolveConnection, type ConnectionFlags } from './resolve-connection.ts';
import { formatElapsed, Spinner } from './spinner.ts';

interface OutputFlags {
  json?: boolean;
  quiet?: boolean;
}

interface WaitFlags {
  wait?: boolean;
  waitTimeout?: number;
}

type CommonFlags = ConnectionFlags & OutputFlags;

function positiveInt(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive integer');
  return n;
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

/** Adds connection and output flags to a command, so each command's --help shows everything it takes. */
function withCommonOptions(cmd: Command): Command {
  return cmd
    .option('--endpoint <url>', 'service URL (env JCS_ENDPOINT, default http://127.0.0.1:8000)')
    .option('--access-key <key>', 'access key (env JCS_ACCESS_KEY)')
    .option('--secret-key <key>', 'secret key (env JCS_SECRET_KEY)')
    .option('--region <id>', 'region (env JCS_REGION, default cn-north-1)')
    .option('--profile <name>', 'profile in ~/.jcs-redis/config (env JCS_PROFILE, default "default")')
    .option('--json', "print exactly the API's result as JSON")
    .addOption(new Option('--quiet', 'print ids only').conflicts('json'));
}

function withWaitOptions(cmd: Command, what: string): Command {
  return cmd
    .option('--wait', `wait until ${what}`)
    .option('--wait-timeout <seconds>', 'give up waiting after this long (exit code 5)', positiveInt, 600);
}

function example(cmd: Command, ...lines: string[]): Command {
  return cmd.addHelpText('after', `\nExample${lines.length > 1 ? 's' : ''}:\n${lines.map((l) => `  $ ${l}`).join('\n')}\n`);
}

/**
 * Registers one subcommand per API operation, named like the JD Cloud CLI, each with a short alias.
 * Output: a readable table by default, `--json` prints exactly the API's `result`, `--quiet` ids only.
 */
export function registerApiCommands(program: Command, io: CliIo): void {
  const out = (text: string) => io.stdout.write(text);
  const json = (value: unknown) => out(JSON.stringify(value ?? {}, null, 2) + '\n');
  const clientFor = (flags: ConnectionFlags) => {
    const connection = resolveConnection(flags, io.env);
    if (connection.keysFrom) io.stderr.write(`using the keys of the local service in ${connection.keysFrom}\n`);
    return new RedisApiClient({ ...connection, fetch: nodeHttpFetch });
  };

  /** `--password-stdin`: the first line of standard input, so the password stays out of argv and shell history. */
  async function passwordFromStdin(): Promise<string> {
    const password = (await io.readStdin()).split(/\r?\n/)[0] ?? '';
    if (password === '') throw new UsageError('--password-stdin: standard input is empty');
    return password;
  }

  /** Polls with a spinner on a terminal; returns the running instance, or undefined once deleted. */
  async function wait(client: RedisApiClient, id: string, until: 'running' | 'gone', flags: WaitFlags) {
    const spinner = new Spinner(io.stdout);
    try {
      return await waitForInstance(client, id, {
        until,
        timeoutMs: (flags.waitTimeout ?? 600) * 1000,
        onPoll: (status, elapsed) => spinner.update(`${id}: ${status} (${formatElapsed(elapsed)})`),
      });
    } finally {
      spinner.stop();
    }
  }

  function printAfterChange(flags: CommonFlags, id: string, result: unknown, waited: CacheInstance | undefined, message: string) {
    if (flags.json) json(result);
    else if (flags.quiet) out(`${id}\n`);
    else if (waited) out(formatInstance(waited));
    else out(`${message}\n`);
  }

  // create-cache-instance
  example(
    withWaitOptions(
      withCommonOptions(
        program
          .command('create-cache-instance')
          .alias('create')
          .description('create a Redis instance (asynchronous: it starts as "creating")')
          .requiredOption('--name <name>', 'instance name: 2-32 letters, digits, "_" or Chinese characters')
          .option('--class <code>', 'instance class, see `jcs-redis classes`', 'redis.m.micro.basic')
          .option('--redis-version <version>', 'Redis version the class belongs to', '4.0')
          .option('--password <password>', '8-16 letters and digits; omit for a password-free instance')
          .addOption(new Option('--password-stdin', 'read the password from the first line of standard input').conflicts('password'))
          .option('--shards <n>', 'shard count, for custom-shard cluster classes', positiveInt)
          .option('--type <type>', 'master-slave, cluster or native-cluster (default: from the class)')
          .option('--description <text>', 'free text, up to 256 characters')
          .option('--az <master,replica>', 'zones of primary and replica (default: <region>a,<region>b)')
          .option('--vpc <id>', 'VPC id (recorded only)', 'vpc-default')
          .option('--subnet <id>', 'subnet id (recorded only)', 'subnet-default')
          .option('--spec <json>', 'extra CacheInstanceSpec fields as JSON, merged last'),
      ),
      'the instance is running',
    ),
    'jcs-redis create --name demo --password Passw0rd1 --wait',
    'jcs-redis create-cache-instance --name big --class redis.m.small.basic --redis-version 7.0 --json',
  ).action(async (flags: CommonFlags & WaitFlags & CreateFlags) => {
    const client = clientFor(flags);
    const [master, slave, extra] = (flags.az ?? `${client.region}a,${client.region}b`).split(',').map((z) => z.trim());
    if (!master || !slave || extra !== undefined) throw new UsageError('--az must be two zones: <primary>,<replica>');
    let spec: Record<string, unknown> = {};
    if (flags.spec !== undefined) {
      try {
        spec = JSON.parse(flags.spec) as Record<string, unknown>;
      } catch {
        throw new UsageError('--spec must be a JSON object');
      }
      if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) throw new UsageError('--spec must be a JSON object');
    }
    const result = await client.createCacheInstance({
      vpcId: flags.vpc,
      subnetId: flags.subnet,
      cacheInstanceName: flags.name,
      cacheInstanceClass: flags.class,
      redisVersion: flags.redisVersion,
      azId: { master, slave },
      password: flags.passwordStdin ? await passwordFromStdin() : flags.password,
      shardNumber: flags.shards,
      cacheInstanceType: flags.type,
      cacheInstanceDescription: flags.description,
      ...spec,
    });
    const id = result.cacheInstanceId;
    const waited = flags.wait ? await wait(client, id, 'running', flags) : undefined;
    printAfterChange(flags, id, result, waited, `${id} is being created; follow it with \`jcs-redis show ${id}\` (or use --wait)`);
  });

  // describe-cache-instances
  example(
    withCommonOptions(
      program
        .command('describe-cache-instances')
        .alias('list')
        .description('list instances, one page at a time')
        .option('--page <n>', 'page number', positiveInt)
        .option('--page-size <n>', 'instances per page, 10-100 (service default 10)', positiveInt)
        .option('--status <list>', 'only these statuses, comma-separated (e.g. running,error)')
        .option('--name <text>', 'only names containing this text')
        .option('--filter <name=v1,v2>', 'any API filter (cacheInstanceId, redisVersion, instanceType, …); repeatable', collect)
        .option('--tag <key[=v1,v2]>', 'only instances with this tag; repeatable', collect)
        .option('--sort <field:asc|desc>', 'sort, e.g. createTime:desc; repeatable', collect),
    ),
    'jcs-redis list --status running --sort createTime:desc',
    'jcs-redis describe-cache-instances --filter redisVersion=4.0 --quiet',
  ).action(async (flags: CommonFlags & ListFlags) => {
    const filters: Filter[] = [];
    if (flags.status) filters.push({ name: 'cacheInstanceStatus', values: splitList(flags.status) });
    if (flags.name) filters.push({ name: 'cacheInstanceName', values: [flags.name] });
    for (const f of flags.filter ?? []) {
      const eq = f.indexOf('=');
      if (eq <= 0 || eq === f.length - 1) throw new UsageError(`--filter "${f}" must look like name=value1,value2`);
      filters.push({ name: f.slice(0, eq), values: splitList(f.slice(eq + 1)) });
    }
    const tagFilters: TagFilter[] = (flags.tag ?? []).map((t) => {
      const eq = t.indexOf('=');
      return eq < 0 ? { key: t } : { key: t.slice(0, eq), values: splitList(t.slice(eq + 1)) };
    });
    const sorts: Sort[] = (flags.sort ?? []).map((s) => {
      const [name, direction = 'asc'] = s.split(':');
      if (!name || (direction !== 'asc' && direction !== 'desc')) throw new UsageError(`--sort "${s}" must look like createTime:desc`);
      return { name, direction };
    });
    const result = await clientFor(flags).describeCacheInstances({
      pageNumber: flags.page,
      pageSize: flags.pageSize,
      filters,
      sorts,
      tagFilters,
    });
    if (flags.json) json(result);
    else if (flags.quiet) out(result.cacheInstances.map((i) => `${i.cacheInstanceId}\n`).join(''));
    else out(formatInstanceList(result));
  });

  // describe-cache-instance
  example(
    withCommonOptions(
      program
        .command('describe-cache-instance')
        .alias('show')
        .description('show one instance: status, class, endpoint, …')
        .argument('<id>', 'instance id, e.g. redis-abc123xyz0'),
    ),
    'jcs-redis show redis-abc123xyz0',
  ).action(async (id: string, flags: CommonFlags) => {
    const result = await clientFor(flags).describeCacheInstance(id);
    if (flags.json) json(result);
    else if (flags.quiet) out(`${result.cacheInstance.cacheInstanceId}\n`);
    else out(formatInstance(result.cacheInstance));
  });

  // modify-cache-instance-attribute
  example(
    withCommonOptions(
      program
        .command('modify-cache-instance-attribute')
        .alias('rename')
        .description('change the name and/or description of an instance')
        .argument('<id>', 'instance id')
        .option('--name <name>', 'new name')
        .option('--description <text>', 'new description'),
    ),
    'jcs-redis rename redis-abc123xyz0 --name orders_cache',
  ).action(async (id: string, flags: CommonFlags & { name?: string; description?: string }) => {
    if (flags.name === undefined && flags.description === undefined) {
      throw new UsageError('give --name and/or --description');
    }
    const result = await clientFor(flags).modifyCacheInstanceAttribute(id, {
      cacheInstanceName: flags.name,
      cacheInstanceDescription: flags.description,
    });
    printAfterChange(flags, id, result, undefined, `${id} updated`);
  });

  // modify-cache-instance-class
  example(
    withWaitOptions(
      withCommonOptions(
        program
          .command('modify-cache-instance-class')
          .alias('resize')
          .description('change the class (memory, connections, shards) of an instance; it shows "changing" meanwhile')
          .argument('<id>', 'instance id')
          .requiredOption('--class <code>', 'new instance class, see `jcs-redis classes`')
          .option('--shards <n>', 'new shard count, for custom-shard cluster classes', positiveInt),
      ),
      'the instance is running with the new class',
    ),
    'jcs-redis resize redis-abc123xyz0 --class redis.m.small.basic --wait',
  ).action(async (id: string, flags: CommonFlags & WaitFlags & { class: string; shards?: number }) => {
    const client = clientFor(flags);
    const result = await client.modifyCacheInstanceClass(id, { cacheInstanceClass: flags.class, shardNumber: flags.shards });
    const waited = flags.wait ? await wait(client, id, 'running', flags) : undefined;
    printAfterChange(flags, id, result, waited, `${id} is being resized to ${flags.class}`);
  });

  // reset-cache-instance-password
  example(
    withWaitOptions(
      withCommonOptions(
        program
          .command('reset-cache-instance-password')
          .alias('reset-password')
          .description('set a new password, or make the instance password-free with --no-password')
          .argument('<id>', 'instance id')
          .option('--password <password>', 'new password: 8-16 letters and digits')
          .addOption(new Option('--password-stdin', 'read the new password from the first line of standard input').conflicts('password'))
          .option('--no-password', 'remove the password (the instance becomes password-free)'),
      ),
      'the new password is in effect',
    ),
    'jcs-redis reset-password redis-abc123xyz0 --password N3wPassw0rd --wait',
    'jcs-redis reset-password redis-abc123xyz0 --no-password',
    'printf "%s\\n" "$NEW_PASSWORD" | jcs-redis reset-password redis-abc123xyz0 --password-stdin',
  ).action(async (id: string, flags: CommonFlags & WaitFlags & { password?: string | false; passwordStdin?: boolean }) => {
    if (flags.passwordStdin && flags.password === false) throw new UsageError('--password-stdin and --no-password exclude each other');
    const password = flags.passwordStdin ? await passwordFromStdin() : flags.password;
    // Clearing a password by accident is dangerous: giving no flag is a usage error, not "no password".
    if (password === undefined) throw new UsageError('give --password <password>, --password-stdin or --no-password');
    const client = clientFor(flags);
    const result = await client.resetCacheInstancePassword(id, password === false ? undefined : password);
    const waited = flags.wait ? await wait(client, id, 'running', flags) : undefined;
    const message = password === false ? `${id} is becoming password-free` : `password of ${id} is being reset`;
    printAfterChange(flags, id, result, waited, message);
  });

  // delete-cache-instance
  example(
    withWaitOptions(
      withCommonOptions(
        program
          .command('delete-cache-instance')
          .alias('delete')
          .description('delete an instance and its data (allowed when it is running or in error)')
          .argument('<id>', 'instance id'),
      ),
      'the instance is gone',
    ),
    'jcs-redis delete redis-abc123xyz0 --wait',
  ).action(async (id: string, flags: CommonFlags & WaitFlags) => {
    const client = clientFor(flags);
    const result = await client.deleteCacheInstance(id);
    if (flags.wait) await wait(client, id, 'gone', flags);
    printAfterChange(flags, id, result, undefined, flags.wait ? `${id} deleted` : `${id} is being deleted`);
  });

  // describe-instance-class
  example(
    withCommonOptions(
      program
        .command('describe-instance-class')
        .alias('classes')
        .description('list the instance classes (memory, connections, shards) of a Redis version')
        // The same default as `create`: the first class listed is one `create` accepts.
        .option('--redis-version <version>', 'Redis version', '4.0'),
    ),
    'jcs-redis classes',
    'jcs-redis classes --redis-version 7.0',
  ).action(async (flags: CommonFlags & { redisVersion?: string }) => {
    const result = await clientFor(flags).describeInstanceClass(flags.redisVersion);
    if (flags.json) json(result);
    else if (flags.quiet) out(result.instanceClasses.map((c) => `${c.instanceClass}\n`).join(''));
    else out(formatClasses(result.instanceClasses));
  });

  // describe-user-quota
  example(
    withCommonOptions(
      program.command('describe-user-quota').alias('quota').description('show how many instances you have and may have in the region'),
    ),
    'jcs-redis quota --region cn-east-2',
  ).action(async (flags: CommonFlags) => {
    const result = await clientFor(flags).describeUserQuota();
    if (flags.json) json(result);
    else if (flags.quiet) out(`${result.quota.used}/${result.quota.max}\n`);
    else out(formatQuota(result.quota));
  });

  // describe-ip-white-list
  example(
    withCommonOptions(program.command('describe-ip-white-list').alias('ips').description('who may connect to an instance, as IPv4 CIDRs').argument('<id>', 'instance id')),
    'jcs-redis ips redis-abc123xyz0',
  ).action(async (id: string, flags: CommonFlags) => {
    const result = await clientFor(flags).describeIpWhiteList(id);
    if (flags.json) json(result);
    else out(result.ipWhiteList.map((cidr) => `${cidr}\n`).join(''));
  });

  // modify-ip-white-list
  example(
    withCommonOptions(
      program
        .command('modify-ip-white-list')
        .alias('allow')
        .description('set who may connect to an instance (enforced by nftables when the service runs as root)')
        .argument('<id>', 'instance id')
        .requiredOption('--ip <cidrs>', 'comma-separated IPv4 CIDRs; 0.0.0.0/0 admits anyone (the default), 127.0.0.1 no one'),
    ),
    'jcs-redis allow redis-abc123xyz0 --ip 10.0.0.0/8,192.168.1.7',
  ).action(async (id: string, flags: CommonFlags & { ip: string }) => {
    const list = splitList(flags.ip);
    const result = await clientFor(flags).modifyIpWhiteList(id, list);
    printAfterChange(flags, id, result, undefined, `${id} admits ${list.join(', ')}`);
  });

  // events (an extension of this service)
  example(
    withCommonOptions(
      program
        .command('events')
        .description("an instance's recent events: status changes with their reasons, tasks, health findings and repairs")
        .argument('<id>', 'instance id')
        .option('--limit <n>', 'at most this many, newest kept (1-200)', positiveInt, 50),
    ),
    'jcs-redis events redis-abc123xyz0',
  ).action(async (id: string, flags: CommonFlags & { limit: number }) => {
    const result = await clientFor(flags).describeInstanceEvents(id, flags.limit);
    if (flags.json) json(result);
    else if (flags.quiet) out(result.events.map((e) => `${e.time} ${e.type}\n`).join(''));
    else out(formatEvents(result.events));
  });

}

interface CreateFlags {
  name: string;
  class: string;
  redisVersion: string;
  password?: string;
  passwordStdin?: boolean;
  shards?: number;
  type?: string;
  description?: string;
  az?: string;
  vpc: string;
  subnet: string;
  spec?: string;
}

interface ListFlags {
  page?: number;
  pageSize?: number;
  status?: string;
  name?: string;
  filter?: string[];
  tag?: string[];
  sort?: string[];
}

function splitList(text: string): string[] {
  return text
    .split(',')
    .map((v) => v.trim())
    .filter(Boolean);
}
