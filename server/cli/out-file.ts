/**
 * `--out`: where `generate` and `edit` also write their images, checked before anything is paid
 * (the folder exists and is writable, the extension names a format we write), then written in the
 * format the extension names: the stored image as is when it already is that format, otherwise
 * converted by sharp. `--out` naming an existing folder writes each image there under its stored
 * name. Each file appears whole (written beside it, then renamed), never half-written.
 */
import { randomBytes } from 'node:crypto'
import { constants } from 'node:fs'
import { access, copyFile, rename, rm, stat } from 'node:fs/promises'
import { basename, dirname, extname, join, resolve } from 'node:path'
import { expandHome } from '../config.js'
import { UsageError } from './flags.js'

export type OutFormat = 'png' | 'jpeg' | 'webp' | 'avif'

/** The extensions `--out` takes, and the format each names. */
export const OUT_EXTENSIONS: Readonly<Record<string, OutFormat>> = { png: 'png', jpg: 'jpeg', jpeg: 'jpeg', webp: 'webp', avif: 'avif' }

const STORED_FORMAT: Readonly<Record<string, OutFormat>> = { 'image/png': 'png', 'image/jpeg': 'jpeg', 'image/webp': 'webp' }

export type OutPlan = { kind: 'file'; path: string; format: OutFormat } | { kind: 'dir'; dir: string }

export type WrittenImage = { path: string; convertedFrom?: OutFormat }

/** Checks `--out` before anything is paid; throws a UsageError saying what is wrong. */
export async function planOutput(out: string, cwd = process.cwd()): Promise<OutPlan> {
  const path = resolve(cwd, expandHome(out))
  const info = await stat(path).catch(() => undefined)
  if (info?.isDirectory() || /[/\\]$/.test(out)) {
    if (!info?.isDirectory()) throw new UsageError(`--out ${out}: no such folder`)
    await writable(path, out)
    return { kind: 'dir', dir: path }
  }
  const ext = extname(path).slice(1).toLowerCase()
  const format = OUT_EXTENSIONS[ext]
  const formats = `${Object.keys(OUT_EXTENSIONS).map((e) => `.${e}`).join(', ')}, or an existing folder`
  if (!format) throw new UsageError(`--out ${out}: ${ext ? `.${ext} is not a format imagegen writes` : 'the name has no extension to say the format'}; use ${formats} (nothing was paid)`)
  if (info && !info.isFile()) throw new UsageError(`--out ${out}: it exists and is not a file`)
  const folder = dirname(path)
  const folderInfo = await stat(folder).catch(() => undefined)
  if (!folderInfo?.isDirectory()) throw new UsageError(`--out ${out}: the folder ${folder} does not exist (nothing was paid)`)
  await writable(folder, out)
  return { kind: 'file', path, format }
}

async function writable(folder: string, out: string): Promise<void> {
  await access(folder, constants.W_OK | constants.X_OK).catch(() => {
    throw new UsageError(`--out ${out}: the folder ${folder} is not writable (nothing was paid)`)
  })
}

/** The target of each image: the plan's path (numbered `-1`, `-2`… for several), or the folder with the stored name. */
export function outputTargets(plan: OutPlan, images: ReadonlyArray<{ file: string }>): string[] {
  if (plan.kind === 'dir') return images.map((image) => join(plan.dir, image.file))
  if (images.length === 1) return [plan.path]
  const ext = extname(plan.path)
  const stem = plan.path.slice(0, plan.path.length - ext.length)
  return images.map((_, i) => `${stem}-${i + 1}${ext}`)
}

/** Writes each stored image to its target, converting when the target's format differs. */
export async function writeOutputs(plan: OutPlan, images: ReadonlyArray<{ path: string; file: string; mimeType: string }>): Promise<WrittenImage[]> {
  const targets = outputTargets(plan, images)
  const written: WrittenImage[] = []
  for (const [i, image] of images.entries()) {
    const target = targets[i]!
    const from = STORED_FORMAT[image.mimeType]
    const format = plan.kind === 'file' ? plan.format : from
    await atomically(target, (temp) => (format === from || !format ? copyFile(image.path, temp) : convert(image.path, temp, format)))
    written.push(format && from && format !== from ? { path: target, convertedFrom: from } : { path: target })
  }
  return written
}

async function convert(source: string, target: string, format: OutFormat): Promise<void> {
  const { default: sharp } = await import('sharp')
  const image = sharp(source)
  // JPEG has no transparency: transparent pixels become white, as an image viewer shows them, not black.
  if (format === 'jpeg') await image.flatten({ background: '#ffffff' }).jpeg({ quality: 92 }).toFile(target)
  else if (format === 'webp') await image.webp({ quality: 92 }).toFile(target)
  else if (format === 'avif') await image.avif().toFile(target)
  else await image.png().toFile(target)
}

async function atomically(target: string, write: (temp: string) => Promise<unknown>): Promise<void> {
  const temp = join(dirname(target), `.${basename(target)}.${randomBytes(4).toString('hex')}.part`)
  try {
    await write(temp)
    await rename(temp, target)
  } catch (error) {
    await rm(temp, { force: true })
    throw error
  }
}
