import { useState, type FormEvent } from 'react';
import { ConsoleApi } from '../api/console-api.ts';
import { ApiErrorView } from '../components/api-error-view.tsx';

/**
 * Sign-in checks the keys with one signed call (describeAvailableRegion). Nothing is stored: the keys
 * go into a ConsoleApi object in memory; a reload or sign-out forgets them.
 */
export function SignIn({ onSignedIn }: { onSignedIn: (api: ConsoleApi) => void }) {
  const [error, setError] = useState<unknown>();
  const [busy, setBusy] = useState(false);

  const submit = async (event: FormEvent<HTMLFormElement>): Promise<void> => {
    event.preventDefault();
    const form = event.currentTarget;
    const data = new FormData(form);
    const api = new ConsoleApi(String(data.get('accessKey')).trim(), String(data.get('secretKey')), String(data.get('region')).trim());
    // The secret leaves the form at once: the input is cleared whatever the answer.
    (form.elements.namedItem('secretKey') as HTMLInputElement).value = '';
    setBusy(true);
    setError(undefined);
    try {
      await api.availableRegions();
      onSignedIn(api);
    } catch (err) {
      api.forget();
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <main className="sign-in">
      <h1>jcs-redis console</h1>
      <form onSubmit={(e) => void submit(e)} autoComplete="off">
        <label>
          Access key
          <input name="accessKey" required autoComplete="off" spellCheck={false} />
        </label>
        <label>
          Secret key
          <input name="secretKey" type="password" required autoComplete="off" />
        </label>
        <label>
          Region
          <input name="region" required defaultValue="cn-north-1" spellCheck={false} />
        </label>
        <button type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
        <ApiErrorView error={error} />
      </form>
      <p className="hint">Requests are signed in this page (JDCLOUD2-HMAC-SHA256); the keys are kept in memory only and forgotten on sign-out or reload.</p>
    </main>
  );
}
