'use strict';
// Reading a Mach-O file's structure without Apple's tools, for the tests that check macOS binaries
// built here (test/prebuilds.test.js, test/coreml-plugin-build.test.js).

const fs = require('fs');

/**
 * A 64-bit little-endian Mach-O file's CPU type, file type, linked libraries (LC_LOAD_DYLIB and its
 * weak and re-export forms), LC_BUILD_VERSION platform and minimum OS version, and its symbols
 * (LC_SYMTAB): the defined external ones, and how many are local (none once stripped, but for the
 * linker's branch islands).
 */
function readMachO(file) {
  const b = fs.readFileSync(file);
  if (b.readUInt32LE(0) !== 0xfeedfacf) throw new Error(`${file}: not a 64-bit little-endian Mach-O file`);
  const LC_SYMTAB = 0x2;
  const LC_LOAD_DYLIB = 0xc;
  const LC_LOAD_WEAK_DYLIB = 0x80000018;
  const LC_REEXPORT_DYLIB = 0x8000001f;
  const LC_BUILD_VERSION = 0x32;
  const N_EXT = 0x01;
  const N_TYPE = 0x0e;
  const N_SECT = 0x0e;
  const N_STAB = 0xe0;
  const cstr = (at) => b.toString('latin1', at, b.indexOf(0, at));
  const result = { cputype: b.readUInt32LE(4), filetype: b.readUInt32LE(12), dylibs: [], platform: null, minos: null, exported: [], locals: 0 };
  const ncmds = b.readUInt32LE(16);
  let symtab = null;
  for (let i = 0, at = 32; i < ncmds; i += 1, at += b.readUInt32LE(at + 4)) {
    const cmd = b.readUInt32LE(at);
    if (cmd === LC_LOAD_DYLIB || cmd === LC_LOAD_WEAK_DYLIB || cmd === LC_REEXPORT_DYLIB) {
      result.dylibs.push(cstr(at + b.readUInt32LE(at + 8)));
    } else if (cmd === LC_BUILD_VERSION) {
      result.platform = b.readUInt32LE(at + 8);
      const v = b.readUInt32LE(at + 12); // xxxx.yy.zz in nibbles
      result.minos = `${v >>> 16}.${(v >> 8) & 0xff}`;
    } else if (cmd === LC_SYMTAB) {
      symtab = { symoff: b.readUInt32LE(at + 8), nsyms: b.readUInt32LE(at + 12), stroff: b.readUInt32LE(at + 16) };
    }
  }
  if (symtab) {
    for (let i = 0; i < symtab.nsyms; i += 1) {
      const e = symtab.symoff + i * 16; // nlist_64: n_strx u32, n_type u8, n_sect u8, n_desc u16, n_value u64
      const type = b[e + 4];
      // Zig's arm64 linker names the branch islands it adds (`<callee>__thunk`) even with -x.
      if ((type & N_STAB) !== 0 || (type & N_EXT) === 0) {
        if (!cstr(symtab.stroff + b.readUInt32LE(e)).endsWith('__thunk')) result.locals += 1;
      }
      else if ((type & N_TYPE) === N_SECT) result.exported.push(cstr(symtab.stroff + b.readUInt32LE(e)));
    }
  }
  return result;
}

module.exports = { readMachO };
