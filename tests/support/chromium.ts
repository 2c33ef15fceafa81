/**
 * Finds the Chromium that the browser tests drive. CHROMIUM_PATH wins, then a system Chromium;
 * otherwise the one that ships inside the npm package @sparticuz/chromium, so a machine with only
 * Deno runs the browser tests too. ORION_BROWSER=npm forces the npm one, to test it on a machine
 * that has a system Chromium.
 *
 * The package carries a brotli-compressed headless Chromium plus the few shared libraries it needs
 * beyond glibc (NSS, NSPR, expat) and a font, built for AWS Lambda. It is unpacked once into
 * `.cache/chromium/<version>/` (git-ignored) and reused by later runs.
 */
import { createReadStream, createWriteStream } from "node:fs";
import { pipeline } from "node:stream/promises";
import { createBrotliDecompress } from "node:zlib";
import { fileURLToPath } from "node:url";
import { extract } from "tar-fs";

const ROOT = new URL("../../", import.meta.url);
/** Where unpacked versions live, one folder each; deleting it is always safe. */
export const CHROMIUM_CACHE = new URL(".cache/chromium/", ROOT);
/** Debian's package, then Google Chrome (GitHub's runner image has both at these paths). */
const SYSTEM_CHROMIUMS = ["/usr/bin/chromium", "/usr/bin/google-chrome"];
const PARTIAL = ".partial-";
/** An unpack takes seconds; a partial folder this old belongs to a run that was killed. */
const STALE_PARTIAL_MS = 60 * 60 * 1000;

/**
 * fontconfig's file for the npm Chromium: only the font that ships with it, found relative to this
 * file, so pages render the same on a machine without any fonts and in a moved clone. Without a
 * font, Chromium lays text out with zero height and screenshots come out blank. There is no
 * <cachedir>: a relative one lands in the working directory, and three fonts scan in no time.
 */
const FONTS_CONF = `<?xml version="1.0"?>
<!DOCTYPE fontconfig SYSTEM "fonts.dtd">
<fontconfig>
  <dir prefix="relative">fonts</dir>
</fontconfig>
`;

export type FoundChromium = {
  executablePath: string;
  /** Variables the browser process needs on top of the test's own environment. */
  env: Record<string, string>;
  /** Where it came from, for the summary of the run. */
  source: string;
};

/** The Chromium to launch: CHROMIUM_PATH, a system one, else the npm one (see the top). */
export async function findChromium(): Promise<FoundChromium> {
  const choice = Deno.env.get("ORION_BROWSER") ?? "";
  if (choice === "npm") return await npmChromium();
  if (choice !== "") {
    throw new Error(`ORION_BROWSER=${choice} is not understood: use npm, or leave it unset`);
  }
  const configured = Deno.env.get("CHROMIUM_PATH");
  if (configured) {
    if (!await isFile(configured)) {
      throw new Error(
        `CHROMIUM_PATH=${configured} does not exist: fix it, or unset it to use a system ` +
          "Chromium or the one from npm (SKIP_BROWSER_TESTS=1 skips the browser tests)",
      );
    }
    return { executablePath: configured, env: {}, source: `CHROMIUM_PATH=${configured}` };
  }
  for (const path of SYSTEM_CHROMIUMS) {
    if (await isFile(path)) return { executablePath: path, env: {}, source: `system, ${path}` };
  }
  return await npmChromium();
}

let unpacked: Promise<{ dir: string; version: string }> | undefined;

/** The npm Chromium, unpacked first if this clone has not done it yet. */
export async function npmChromium(): Promise<FoundChromium> {
  // One unpack per process however many tests ask at once; a failed one may be tried again.
  unpacked ??= unpack().catch((error) => {
    unpacked = undefined;
    throw error;
  });
  const { dir, version } = await unpacked;
  const libraryPath = [`${dir}/al2023/lib`, Deno.env.get("LD_LIBRARY_PATH")].filter(Boolean);
  return {
    executablePath: `${dir}/chromium`,
    env: { LD_LIBRARY_PATH: libraryPath.join(":"), FONTCONFIG_PATH: dir },
    source: `npm @sparticuz/chromium ${version}, unpacked in .cache/chromium/${version}`,
  };
}

/**
 * Unpacks the package's Chromium into `.cache/chromium/<version>/` unless it is there already.
 * Test files run in parallel and each may get here first, so each unpacks into a folder of its
 * own and renames it into place: the rename is atomic, a loser finds the winner's folder complete
 * and drops its own. The final folder therefore exists only once it is whole.
 */
async function unpack(): Promise<{ dir: string; version: string }> {
  // Importing the package is what makes Deno install it in a fresh clone; only then can its
  // files be located. Its module does nothing on import outside AWS Lambda and Vercel.
  await import("@sparticuz/chromium");
  const main = import.meta.resolve("@sparticuz/chromium");
  const manifest = JSON.parse(await Deno.readTextFile(new URL("../package.json", main)));
  const version: string = manifest.version;
  const bin = new URL("../bin/", main);
  const cache = fileURLToPath(CHROMIUM_CACHE);
  const dir = `${cache}${version}`;
  if (await isFile(`${dir}/chromium`)) return { dir, version };

  await Deno.mkdir(cache, { recursive: true });
  await removeStalePartials(cache);
  const partial = await Deno.makeTempDir({ dir: cache, prefix: `${version}${PARTIAL}` });
  try {
    await Deno.mkdir(`${partial}/al2023`);
    await Promise.all([
      pipeline(
        createReadStream(new URL("chromium.br", bin)),
        createBrotliDecompress(),
        createWriteStream(`${partial}/chromium`, { mode: 0o755 }),
      ),
      // SwiftShader's libraries sit beside the binary, where Chromium looks for them.
      untar(new URL("swiftshader.tar.br", bin), partial),
      untar(new URL("fonts.tar.br", bin), partial),
      // NSS, NSPR and expat: found through LD_LIBRARY_PATH, so the system needs none of them.
      untar(new URL("al2023.tar.br", bin), `${partial}/al2023`),
    ]);
    // Replaces the package's own file, which points at Lambda's folders.
    await Deno.writeTextFile(`${partial}/fonts.conf`, FONTS_CONF);
    // A temporary folder is private to its creator; the finished one is as readable as the clone.
    await Deno.chmod(partial, 0o755);
    try {
      await Deno.rename(partial, dir);
    } catch (error) {
      if (!await isFile(`${dir}/chromium`)) throw error;
      // Another test file (or run) finished first: its copy is identical.
    }
    return { dir, version };
  } finally {
    await Deno.remove(partial, { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
  }
}

function untar(archive: URL, into: string): Promise<void> {
  return pipeline(
    createReadStream(archive),
    createBrotliDecompress(),
    // chown: false keeps files owned by whoever unpacks, even root, not by the archive's uid.
    extract(into, { chown: false }),
  );
}

/** Removes partial folders left by killed runs: 200 MB each, and nothing else ever would. */
async function removeStalePartials(cache: string): Promise<void> {
  for await (const entry of Deno.readDir(cache)) {
    if (!entry.isDirectory || !entry.name.includes(PARTIAL)) continue;
    const path = `${cache}${entry.name}`;
    try {
      const { mtime } = await Deno.stat(path);
      if (mtime && Date.now() - mtime.getTime() > STALE_PARTIAL_MS) {
        await Deno.remove(path, { recursive: true });
      }
    } catch (error) {
      // A concurrent run renamed or removed it between the listing and here.
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

async function isFile(path: string): Promise<boolean> {
  try {
    return (await Deno.stat(path)).isFile;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}
