import { useState } from 'react';
import type { CacheInstance, Filter, Sort } from '../../../src/client/api-types.ts';
import type { AvailableRegion, ConsoleApi } from '../api/console-api.ts';
import { ApiErrorView } from '../components/api-error-view.tsx';
import { SelectField } from '../components/select-field.tsx';
import { StatusBadge } from '../components/status-badge.tsx';
import { usePoll } from '../use-poll.ts';

const PAGE_SIZE = 10;
const STATUSES = ['creating', 'running', 'changing', 'configuring', 'error', 'deleting'];
const VERSIONS = ['2.8', '4.0', '5.0', '6.2', '7.0'];

interface Row extends CacheInstance {
  region: string;
}

/** Every region of the account, filtered and sorted by the API itself (describeCacheInstances), refreshed every 3 s. */
export function InstanceList({ api }: { api: ConsoleApi }) {
  const [regions, setRegions] = useState<AvailableRegion[]>([]);
  const [rows, setRows] = useState<Row[] | null>(null);
  const [total, setTotal] = useState(0);
  const [error, setError] = useState<unknown>();
  const [name, setName] = useState('');
  const [status, setStatus] = useState('');
  const [version, setVersion] = useState('');
  const [type, setType] = useState('');
  const [sort, setSort] = useState('createTime:desc');
  const [page, setPage] = useState(1);

  usePoll(
    async () => {
      try {
        // Quota is per region: availableRegion carries used / allowed for each.
        const found = (await api.availableRegions()).availableRegions;
        setRegions(found);
        const filters: Filter[] = [];
        if (name) filters.push({ name: 'cacheInstanceName', values: [name] });
        if (status) filters.push({ name: 'cacheInstanceStatus', values: [status] });
        if (version) filters.push({ name: 'redisVersion', values: [version] });
        if (type) filters.push({ name: 'instanceType', values: [type] });
        const [sortName, direction] = sort.split(':') as [string, Sort['direction']];
        const pages = await Promise.all(
          found.map(async (r) => ({ region: r.regionId, ...(await api.list(r.regionId, { pageNumber: page, pageSize: PAGE_SIZE, filters, sorts: [{ name: sortName, direction }] })) })),
        );
        setRows(pages.flatMap((p) => p.cacheInstances.map((i) => ({ ...i, region: p.region }))));
        setTotal(Math.max(0, ...pages.map((p) => p.totalCount)));
        setError(undefined);
      } catch (err) {
        setError(err);
      }
    },
    3_000,
    [api, name, status, version, type, sort, page],
  );

  const lastPage = Math.max(1, Math.ceil(total / PAGE_SIZE));
  const reset = <T,>(set: (v: T) => void) => (v: T) => {
    set(v);
    setPage(1);
  };
  return (
    <section aria-labelledby="instances-title">
      <div className="title-row">
        <h1 id="instances-title">Instances</h1>
        <a className="button" href="#/create">
          Create instance
        </a>
      </div>
      <ul className="quota" aria-label="quota">
        {regions.map((r) => (
          <li key={r.regionId}>
            {r.regionId}: {r.quota ? `${r.quota.used} of ${r.quota.max} instances` : 'no quota'}
          </li>
        ))}
      </ul>
      <form className="filters" onSubmit={(e) => e.preventDefault()} aria-label="filters">
        <label>
          Name
          <input value={name} onChange={(e) => reset(setName)(e.target.value)} type="search" />
        </label>
        <SelectField label="Status" value={status} onChange={reset(setStatus)} options={[['', 'any'], ...STATUSES]} />
        <SelectField label="Version" value={version} onChange={reset(setVersion)} options={[['', 'any'], ...VERSIONS]} />
        <SelectField label="Type" value={type} onChange={reset(setType)} options={[['', 'any'], ['redis', 'master-replica'], ['redis_cluster', 'cluster']]} />
        <SelectField
          label="Sort"
          value={sort}
          onChange={reset(setSort)}
          options={[['createTime:desc', 'newest first'], ['createTime:asc', 'oldest first'], ['totalMemory:desc', 'most memory'], ['totalMemory:asc', 'least memory']]}
        />
      </form>
      <ApiErrorView error={error} />
      {rows === null ? (
        <p>Loading…</p>
      ) : rows.length === 0 ? (
        <p>No instances match.</p>
      ) : (
        <div className="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Status</th>
                <th scope="col">Region</th>
                <th scope="col">Version</th>
                <th scope="col">Class</th>
                <th scope="col">Memory</th>
              </tr>
            </thead>
            <tbody>
              {rows.map((i) => (
                <tr key={i.cacheInstanceId} data-instance={i.cacheInstanceId}>
                  <td>
                    <a href={`#/instance/${encodeURIComponent(i.region)}/${encodeURIComponent(i.cacheInstanceId)}`}>{i.cacheInstanceName}</a>
                    <div className="muted">{i.cacheInstanceId}</div>
                  </td>
                  <td>
                    <StatusBadge status={i.cacheInstanceStatus} />
                  </td>
                  <td>{i.region}</td>
                  <td>{i.redisVersion}</td>
                  <td>{i.cacheInstanceClass}</td>
                  <td>{i.cacheInstanceMemoryMB} MB</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      <nav className="pager" aria-label="pages">
        <button type="button" disabled={page <= 1} onClick={() => setPage(page - 1)}>
          Previous
        </button>
        <span>
          Page {page} of {lastPage}
        </span>
        <button type="button" disabled={page >= lastPage} onClick={() => setPage(page + 1)}>
          Next
        </button>
      </nav>
    </section>
  );
}
