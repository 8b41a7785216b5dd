import { useId } from 'react';
import { passwordProblem, PASSWORD_RULE } from '../../../src/domain/instances/password-rule.ts';

/** A password input checked as you type with the server's own rule (src/domain/instances/password-rule.ts). */
export function PasswordField({ value, onChange, label }: { value: string; onChange: (v: string) => void; label: string }) {
  const id = useId();
  const problem = value === '' ? undefined : passwordProblem(value);
  return (
    <div className="field">
      <label htmlFor={`${id}-input`}>{label}</label>
      <input id={`${id}-input`} type="password" autoComplete="new-password" value={value} onChange={(e) => onChange(e.target.value)} aria-invalid={problem !== undefined} aria-describedby={`${id}-rule`} />
      <span id={`${id}-rule`} className={problem ? 'error' : 'muted'} role={problem ? 'alert' : undefined}>
        {problem ? `Password ${problem}.` : `Rule: ${PASSWORD_RULE}.`}
      </span>
    </div>
  );
}

export const passwordOk = (password: string): boolean => password !== '' && passwordProblem(password) === undefined;
