/**
 * The instance password rule, in one place for the API schema, the domain and (later) the console;
 * it imports nothing, so a browser bundle can use it as it is.
 *
 * JD Cloud's rule for createCacheInstance and resetCacheInstancePassword: "包含且只支持字母及数字，不少于8字符
 * 不超过16字符" (must contain letters and digits, only letters and digits, 8 to 16 characters).
 * Letters are the ASCII ones. Empty or absent means password-free, which stays allowed.
 */

/** The rule as the API names it in an error: `<field>: must be <PASSWORD_RULE>`. */
export const PASSWORD_RULE = '8 to 16 letters and digits (ASCII), with at least one letter and one digit, or empty for password-free';

/** JSON-schema pattern of the rule (ECMAScript syntax, also valid with the `u` flag Ajv uses). */
export const PASSWORD_PATTERN = '^((?=[0-9A-Za-z]*[A-Za-z])(?=[0-9A-Za-z]*[0-9])[0-9A-Za-z]{8,16})?$';

const pattern = new RegExp(PASSWORD_PATTERN);

/** True when `password` follows the rule (the empty string does: password-free). */
export function isValidPassword(password: string): boolean {
  return pattern.test(password);
}

/**
 * What is wrong with a non-empty password, in words for a form or an error message; undefined when
 * it follows the rule. The value itself never appears in the answer.
 */
export function passwordProblem(password: string): string | undefined {
  if (isValidPassword(password)) return undefined;
  if (password.length < 8 || password.length > 16) return `must be 8 to 16 characters long, got ${password.length}`;
  if (/[^0-9A-Za-z]/.test(password)) return 'may contain only ASCII letters and digits';
  return 'must contain at least one letter and at least one digit';
}
