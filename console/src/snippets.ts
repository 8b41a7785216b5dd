/** Connection snippets for an endpoint; the password is a placeholder, never the real one (the console does not know it). */
export function connectionSnippets(host: string, port: number, auth: boolean): { label: string; code: string }[] {
  const pw = auth ? '<password>' : '';
  return [
    { label: 'redis-cli', code: `redis-cli -h ${host} -p ${port}${auth ? " -a '<password>' --no-auth-warning" : ''}` },
    { label: 'ioredis', code: `const Redis = require('ioredis');\nconst redis = new Redis({ host: '${host}', port: ${port}${auth ? `, password: '${pw}'` : ''} });` },
    { label: 'Jedis', code: `Jedis jedis = new Jedis("${host}", ${port});${auth ? `\njedis.auth("${pw}");` : ''}` },
    { label: 'redis-py', code: `import redis\nr = redis.Redis(host='${host}', port=${port}${auth ? `, password='${pw}'` : ''})` },
  ];
}
