import { useEffect, useState, type FormEvent } from 'react';
import type { AvailableRegion, ConsoleApi } from '../api/console-api.ts';
import { ApiErrorView } from '../components/api-error-view.tsx';
import { ClassPicker } from '../components/class-picker.tsx';
import { PasswordField, passwordOk } from '../components/password-field.tsx';
import { SelectField } from '../components/select-field.tsx';

const VERSIONS = ['7.0', '6.2', '5.0', '4.0', '2.8'];

/** createCacheInstance with the choices the API offers; on success the detail page shows it turn running. */
export function CreateInstance({ api, onCreated }: { api: ConsoleApi; onCreated: (region: string, id: string) => void }) {
  const [regions, setRegions] = useState<AvailableRegion[]>([]);
  const [region, setRegion] = useState(api.homeRegion);
  const [master, setMaster] = useState('');
  const [slave, setSlave] = useState('');
  const [redisVersion, setVersion] = useState('7.0');
  const [instanceType, setType] = useState('master-slave');
  const [cls, setCls] = useState('');
  const [shards, setShards] = useState(3);
  const [name, setName] = useState('');
  const [password, setPassword] = useState('');
  const [passwordFree, setPasswordFree] = useState(false);
  const [tags, setTags] = useState('');
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  useEffect(() => {
    api.availableRegions().then((r) => setRegions(r.availableRegions), setError);
  }, [api]);
  const zones = regions.find((r) => r.regionId === region)?.availableZones?.map((z) => z.azId) ?? [];
  const zoneA = master || zones[0] || '';
  const zoneB = slave || zones[1] || zones[0] || '';

  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    try {
      const userTags = tags
        .split(',')
        .map((t) => t.trim())
        .filter(Boolean)
        .map((t) => {
          const [key = '', ...rest] = t.split('=');
          return { key: key.trim(), value: rest.join('=').trim() };
        });
      const result = await api.create(region, {
        vpcId: 'vpc-default',
        subnetId: 'subnet-default',
        cacheInstanceName: name,
        cacheInstanceClass: cls,
        azId: { master: zoneA, slave: zoneB },
        redisVersion,
        cacheInstanceType: instanceType,
        ...(instanceType === 'native-cluster' ? { shardNumber: shards } : {}),
        ...(passwordFree ? {} : { password }),
        ...(userTags.length > 0 ? { userTags } : {}),
      });
      onCreated(region, result.cacheInstanceId);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  const ready = name.trim() !== '' && cls !== '' && (passwordFree || passwordOk(password));
  return (
    <section aria-labelledby="create-title">
      <h1 id="create-title">Create instance</h1>
      <form className="stack" onSubmit={(e) => void submit(e)}>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} required maxLength={32} />
        </label>
        <div className="row">
          <SelectField label="Region" value={region} onChange={setRegion} options={regions.length ? regions.map((r) => r.regionId) : [region]} />
          <SelectField label="Primary zone" value={zoneA} onChange={setMaster} options={zones} />
          <SelectField label="Replica zone" value={zoneB} onChange={setSlave} options={zones} />
        </div>
        <div className="row">
          <SelectField label="Redis version" value={redisVersion} onChange={(v) => (setVersion(v), setCls(''))} options={VERSIONS} />
          <SelectField label="Type" value={instanceType} onChange={(v) => (setType(v), setCls(''))} options={[['master-slave', 'master-replica'], ['native-cluster', 'Redis Cluster']]} />
          {instanceType === 'native-cluster' ? (
            <label>
              Shards
              <input type="number" min={3} max={128} value={shards} onChange={(e) => setShards(Number(e.target.value))} />
            </label>
          ) : null}
        </div>
        <ClassPicker api={api} region={region} redisVersion={redisVersion} instanceType={instanceType} value={cls} onChange={setCls} />
        <label className="inline">
          <input type="checkbox" checked={passwordFree} onChange={(e) => setPasswordFree(e.target.checked)} /> Password-free (anyone who can reach the port can use it)
        </label>
        {passwordFree ? null : <PasswordField label="Password" value={password} onChange={setPassword} />}
        <label>
          Tags (key=value, comma separated)
          <input value={tags} onChange={(e) => setTags(e.target.value)} />
        </label>
        <button type="submit" disabled={!ready || busy}>
          {busy ? 'Creating…' : 'Create'}
        </button>
        <ApiErrorView error={error} />
      </form>
    </section>
  );
}
