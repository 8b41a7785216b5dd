import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import type { CacheInstance } from '../../../src/client/api-types.ts';
import type { ConsoleApi } from '../api/console-api.ts';
import { ApiErrorView } from './api-error-view.tsx';
import { ClassPicker } from './class-picker.tsx';
import { PasswordField, passwordOk } from './password-field.tsx';

/** One action form: runs `work`, shows the API's error as given, and refreshes the instance after. */
function ActionForm({ title, children, work, ready, label, onDone }: { title: string; children: ReactNode; work: () => Promise<unknown>; ready: boolean; label: string; onDone: () => Promise<void> | void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);
  const [done, setDone] = useState(false);
  const submit = async (event: FormEvent): Promise<void> => {
    event.preventDefault();
    setBusy(true);
    setError(undefined);
    setDone(false);
    try {
      await work();
      setDone(true);
      await onDone();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form className="action stack" onSubmit={(e) => void submit(e)} aria-label={title}>
      <h3>{title}</h3>
      {children}
      <button type="submit" disabled={!ready || busy}>
        {label}
      </button>
      {done ? <span role="status">Accepted.</span> : null}
      <ApiErrorView error={error} />
    </form>
  );
}

/** Rename and describe, resize, reset the password or make it password-free, delete with a typed confirmation. */
export function InstanceActions({ api, region, instance, onChanged, onDeleted }: { api: ConsoleApi; region: string; instance: CacheInstance; onChanged: () => Promise<void>; onDeleted: () => void }) {
  const id = instance.cacheInstanceId;
  const [name, setName] = useState(instance.cacheInstanceName);
  const [description, setDescription] = useState(instance.cacheInstanceDescription ?? '');
  const [cls, setCls] = useState('');
  const [password, setPassword] = useState('');
  const [confirm, setConfirm] = useState('');
  const [whiteList, setWhiteList] = useState('');
  useEffect(() => {
    api.ipWhiteList(region, id).then((r) => setWhiteList(r.ipWhiteList.join(', ')), () => undefined);
  }, [api, region, id]);
  const type = instance.cacheInstanceType ?? 'master-slave';
  return (
    <section aria-labelledby="actions-title" className="actions">
      <h2 id="actions-title">Actions</h2>
      {instance.cacheInstanceStatus === 'changing' ? <p role="status">Resizing: the instance stays available; this page follows it.</p> : null}
      <ActionForm title="Rename" label="Save" ready={name.trim() !== ''} work={() => api.modifyAttribute(region, id, { cacheInstanceName: name, cacheInstanceDescription: description })} onDone={onChanged}>
        <label>
          Name
          <input value={name} onChange={(e) => setName(e.target.value)} maxLength={32} />
        </label>
        <label>
          Description
          <input value={description} onChange={(e) => setDescription(e.target.value)} maxLength={256} />
        </label>
      </ActionForm>
      <ActionForm title="Resize" label="Resize" ready={cls !== '' && cls !== instance.cacheInstanceClass} work={() => api.resize(region, id, cls)} onDone={onChanged}>
        <ClassPicker api={api} region={region} redisVersion={instance.redisVersion ?? '4.0'} instanceType={type} value={cls} onChange={setCls} />
      </ActionForm>
      <ActionForm
        title="Password"
        label="Reset password"
        ready={passwordOk(password)}
        work={async () => {
          await api.resetPassword(region, id, password);
          setPassword('');
        }}
        onDone={onChanged}
      >
        <PasswordField label="New password" value={password} onChange={setPassword} />
      </ActionForm>
      <ActionForm title="Password-free" label="Make password-free" ready={instance.auth !== false} work={() => api.resetPassword(region, id, '')} onDone={onChanged}>
        <p className="muted">Anyone who can reach the port can then use the instance.</p>
      </ActionForm>
      <ActionForm
        title="IP white list"
        label="Save white list"
        ready={whiteList.trim() !== ''}
        work={() => api.modifyIpWhiteList(region, id, whiteList.split(/[\s,]+/).filter(Boolean))}
        onDone={onChanged}
      >
        <label>
          Addresses allowed to connect (IPv4 CIDRs, comma separated; 0.0.0.0/0 is anyone)
          <input value={whiteList} onChange={(e) => setWhiteList(e.target.value)} spellCheck={false} />
        </label>
      </ActionForm>
      <ActionForm title="Delete" label="Delete instance" ready={confirm === instance.cacheInstanceName} work={() => api.remove(region, id)} onDone={onDeleted}>
        <label>
          Type the name ({instance.cacheInstanceName}) to confirm
          <input value={confirm} onChange={(e) => setConfirm(e.target.value)} autoComplete="off" />
        </label>
      </ActionForm>
    </section>
  );
}
