/** Passwords: length rules, a strength estimate that refuses common ones, and Argon2id hashing. */
import type { ZxcvbnFactory } from "@zxcvbn-ts/core";

export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;
/** zxcvbn scores 0–4; 0 and 1 are guessable within about a million tries (common passwords). */
const MIN_SCORE = 2;

// OWASP's Argon2id recommendation: 19 MiB of memory, 2 passes, 1 lane.
const ARGON2 = { memorySize: 19456, iterations: 2, parallelism: 1, hashLength: 32 } as const;

let estimator: Promise<ZxcvbnFactory> | undefined;

/**
 * Why a password is not acceptable, or null when it is. No composition rules (NIST SP 800-63B):
 * length, then a strength estimate that knows common passwords and the user's own name and email.
 */
export async function passwordProblem(
  password: string,
  userInputs: string[] = [],
): Promise<string | null> {
  // Length counts code points, so an emoji counts once, as people expect.
  const length = [...password].length;
  if (length < PASSWORD_MIN_LENGTH) {
    return `Use at least ${PASSWORD_MIN_LENGTH} characters (12 or more is better).`;
  }
  if (length > PASSWORD_MAX_LENGTH) return `Use at most ${PASSWORD_MAX_LENGTH} characters.`;
  // The dictionaries take ~150 ms to load, so they load on first use, not at start-up.
  estimator ??= Promise.all([
    import("@zxcvbn-ts/core"),
    import("@zxcvbn-ts/language-common"),
    import("@zxcvbn-ts/language-en"),
  ]).then(([{ ZxcvbnFactory }, common, en]) =>
    new ZxcvbnFactory({
      translations: en.translations,
      graphs: common.adjacencyGraphs,
      dictionary: { ...common.dictionary, ...en.dictionary },
    })
  );
  const result = (await estimator).check(password, userInputs.filter(Boolean));
  if (result.score >= MIN_SCORE) return null;
  const hint = result.feedback.warning ?? "This password is too easy to guess.";
  return `${hint} Try a longer passphrase of a few unrelated words.`;
}

// The WebAssembly module loads on the first hash, not at start-up.
const argon2 = () => import("hash-wasm");

/** An Argon2id hash in PHC string form, with a fresh 128-bit salt. */
export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(16));
  const { argon2id } = await argon2();
  return await argon2id({ password, salt, ...ARGON2, outputType: "encoded" });
}

/** Whether `password` matches `hash`. Always does the full Argon2id work, so timing reveals nothing. */
export async function verifyPassword(hash: string, password: string): Promise<boolean> {
  const { argon2Verify } = await argon2();
  try {
    return await argon2Verify({ password, hash });
  } catch {
    return false;
  }
}

/**
 * A hash of a random password, computed once: sign-in verifies against it when the email is
 * unknown, so an unknown email costs the same time as a wrong password.
 */
let decoyHash: Promise<string> | undefined;
export function decoyPasswordHash(): Promise<string> {
  decoyHash ??= hashPassword(crypto.randomUUID());
  return decoyHash;
}
