import { useState } from 'react';
import type { ConsoleApi } from './api/console-api.ts';
import { SignIn } from './pages/sign-in.tsx';
import { InstanceList } from './pages/instance-list.tsx';
import { CreateInstance } from './pages/create-instance.tsx';
import { InstanceDetail } from './pages/instance-detail.tsx';
import { go, useHashRoute } from './use-hash-route.ts';

/** Signed out: the sign-in form. Signed in: the page the hash names. The keys live in `api` only. */
export function App() {
  const [api, setApi] = useState<ConsoleApi | null>(null);
  const route = useHashRoute();
  if (!api) return <SignIn onSignedIn={setApi} />;
  const signOut = (): void => {
    api.forget();
    setApi(null);
    history.replaceState(null, '', location.pathname);
  };
  const [page, region, id] = route;
  return (
    <>
      <header className="top">
        <a href="#/" className="brand">
          jcs-redis
        </a>
        <nav aria-label="main">
          <a href="#/">Instances</a>
          <a href="#/create">Create</a>
        </nav>
        <span className="who" title="access key">
          {api.accessKey}
        </span>
        <button type="button" onClick={signOut}>
          Sign out
        </button>
      </header>
      <main>
        {page === 'create' ? (
          <CreateInstance api={api} onCreated={(r, newId) => go('instance', r, newId)} />
        ) : page === 'instance' && region && id ? (
          <InstanceDetail key={`${region}/${id}`} api={api} region={region} id={id} />
        ) : (
          <InstanceList api={api} />
        )}
      </main>
    </>
  );
}
