import { describe, expect, it } from 'vitest'
import { absolutizeReference, classifyReference } from '../server/inputs/reference.js'
import { makeImage } from './helpers/images.js'

const linux = { platform: 'linux' as const, home: '/home/ada' }
const windows = { platform: 'win32' as const, home: 'C:\\Users\\ada' }

describe('classifying image references', () => {
  it('URLs: http and https only', () => {
    expect(classifyReference('https://example.com/a.jpg', linux)).toMatchObject({ kind: 'url' })
    expect(classifyReference('HTTP://example.com/a.jpg', linux)).toMatchObject({ kind: 'url' })
    expect(classifyReference('ftp://example.com/a.jpg', linux)).toMatchObject({ kind: 'refused', code: 'url_scheme_refused' })
    expect(classifyReference('gopher://127.0.0.1:6379/_x', linux)).toMatchObject({ kind: 'refused', code: 'url_scheme_refused' })
  })

  it('POSIX paths, ~/ and file:// URLs', () => {
    expect(classifyReference('/tmp/photo.png', linux)).toEqual({ kind: 'path', path: '/tmp/photo.png' })
    expect(classifyReference('~/Pictures/cat.jpg', linux)).toEqual({ kind: 'path', path: '/home/ada/Pictures/cat.jpg' })
    expect(classifyReference('  /tmp/x.png  ', linux)).toEqual({ kind: 'path', path: '/tmp/x.png' })
    expect(classifyReference('file:///tmp/photo%20one.png', linux)).toEqual({ kind: 'path', path: '/tmp/photo one.png' })
  })

  it('relative paths are told apart, and the CLI makes them absolute', () => {
    expect(classifyReference('photo.png', linux)).toEqual({ kind: 'relative', path: 'photo.png' })
    expect(classifyReference('./photos/a.png', linux)).toMatchObject({ kind: 'relative' })
    expect(classifyReference('~bob/a.png', linux)).toMatchObject({ kind: 'relative' })
    expect(absolutizeReference('photos/a.png', '/work/me', linux)).toBe('/work/me/photos/a.png')
    expect(absolutizeReference('https://example.com/a.png', '/work/me', linux)).toBe('https://example.com/a.png')
    expect(absolutizeReference('/abs/a.png', '/work/me', linux)).toBe('/abs/a.png')
  })

  it('Windows paths on Windows, refused (with a reason) elsewhere', () => {
    expect(classifyReference('C:\\Users\\ada\\cat.png', windows)).toEqual({ kind: 'path', path: 'C:\\Users\\ada\\cat.png' })
    expect(classifyReference('d:/photos/cat.png', windows)).toEqual({ kind: 'path', path: 'd:\\photos\\cat.png' })
    expect(classifyReference('~\\Pictures\\cat.png', windows)).toEqual({ kind: 'path', path: 'C:\\Users\\ada\\Pictures\\cat.png' })
    expect(classifyReference('\\\\?\\C:\\very\\long\\cat.png', windows)).toMatchObject({ kind: 'path' })
    expect(classifyReference('C:\\Users\\ada\\cat.png', linux)).toMatchObject({ kind: 'refused', code: 'input_foreign_path' })
    expect(classifyReference('cat.png', windows)).toMatchObject({ kind: 'relative' })
    expect(classifyReference('C:cat.png', windows)).toMatchObject({ kind: 'relative' })
  })

  it('network shares and device paths are refused on every platform', () => {
    expect(classifyReference('\\\\fileserver\\share\\cat.png', windows)).toMatchObject({ kind: 'refused', code: 'input_network_path' })
    expect(classifyReference('//fileserver/share/cat.png', windows)).toMatchObject({ kind: 'refused', code: 'input_network_path' })
    expect(classifyReference('\\\\.\\PhysicalDrive0', windows)).toMatchObject({ kind: 'refused', code: 'input_network_path' })
    expect(classifyReference('\\\\fileserver\\share\\cat.png', linux)).toMatchObject({ kind: 'refused', code: 'input_network_path' })
  })

  it('data URIs and raw base64, including JPEG base64 that starts like a path', async () => {
    const png = (await makeImage(8, 8, 'png')).toString('base64')
    const jpeg = (await makeImage(8, 8, 'jpeg')).toString('base64')
    expect(jpeg.startsWith('/9j/')).toBe(true)
    expect(classifyReference(`data:image/png;base64,${png}`, linux)).toMatchObject({ kind: 'data-uri' })
    expect(classifyReference(png, linux)).toMatchObject({ kind: 'base64' })
    expect(classifyReference(jpeg, linux)).toMatchObject({ kind: 'base64' })
    expect(classifyReference(jpeg, windows)).toMatchObject({ kind: 'base64' })
    // A long base64-looking string that is not an image is still base64 (refused later as not an image)...
    expect(classifyReference(Buffer.alloc(100, 7).toString('base64'), linux)).toMatchObject({ kind: 'base64' })
    // ...but a short word or an absolute path is not.
    expect(classifyReference('cat', linux)).toMatchObject({ kind: 'relative' })
    expect(classifyReference('/home/ada/Pictures/holiday/beach/IMG0001/IMG0001/IMG0001/IMG0001/IMG0001', linux)).toMatchObject({ kind: 'path' })
  })
})
