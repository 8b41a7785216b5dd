import { ApiError } from '../api/console-api.ts';

/** An error as the API gave it: status code and message, never swallowed or reworded. */
export function ApiErrorView({ error }: { error: unknown }) {
  if (error === undefined || error === null) return null;
  const text = error instanceof ApiError ? `${error.status} (${error.httpStatus}): ${error.message}` : error instanceof Error ? error.message : String(error);
  return (
    <p className="error" role="alert">
      {text}
    </p>
  );
}
