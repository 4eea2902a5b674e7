'use strict';
// What the tests ask of a Linux shared library, read from its ELF headers with no binutils: its machine,
// the libraries it needs (DT_NEEDED), its search paths (DT_RUNPATH, DT_RPATH), the symbol versions it
// requires (.gnu.version_r) and whether it still has a symbol table (.symtab: not stripped).
const fs = require('node:fs');

const EM_X86_64 = 62;
const EM_AARCH64 = 183;

const SHT_SYMTAB = 2;
const SHT_DYNAMIC = 6;
const SHT_GNU_VERNEED = 0x6ffffffe;
const DT_NEEDED = 1n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

/** A 64-bit little-endian ELF file (x86-64 and arm64 Linux both are). */
function readElf(file) {
  const b = fs.readFileSync(file);
  if (b.length < 64 || b.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${file}: not an ELF file`);
  if (b[4] !== 2 || b[5] !== 1) throw new Error(`${file}: not a 64-bit little-endian ELF file`);
  const shoff = Number(b.readBigUInt64LE(40));
  const shentsize = b.readUInt16LE(58);
  const sections = [];
  for (let i = 0; i < b.readUInt16LE(60); i += 1) {
    const at = shoff + i * shentsize;
    sections.push({
      type: b.readUInt32LE(at + 4),
      offset: Number(b.readBigUInt64LE(at + 24)),
      size: Number(b.readBigUInt64LE(at + 32)),
      link: b.readUInt32LE(at + 40),
    });
  }
  const string = (table, at) => {
    const start = sections[table].offset + at;
    return b.toString('latin1', start, b.indexOf(0, start));
  };
  const elf = { machine: b.readUInt16LE(18), needed: [], runpath: [], versions: [], stripped: true };
  for (const s of sections) {
    if (s.type === SHT_SYMTAB) elf.stripped = false;
    if (s.type === SHT_DYNAMIC) {
      for (let at = s.offset; at + 16 <= s.offset + s.size; at += 16) {
        const tag = b.readBigInt64LE(at);
        if (tag === 0n) break;
        const value = () => string(s.link, Number(b.readBigUInt64LE(at + 8)));
        if (tag === DT_NEEDED) elf.needed.push(value());
        if (tag === DT_RPATH) elf.runpath.push(`RPATH ${value()}`);
        if (tag === DT_RUNPATH) elf.runpath.push(`RUNPATH ${value()}`);
      }
    }
    if (s.type === SHT_GNU_VERNEED && s.size > 0) {
      // Elf64_Verneed: vn_version u16, vn_cnt u16, vn_file u32, vn_aux u32, vn_next u32;
      // Elf64_Vernaux: vna_hash u32, vna_flags u16, vna_other u16, vna_name u32, vna_next u32.
      for (let at = s.offset; ;) {
        let aux = at + b.readUInt32LE(at + 8);
        for (let i = 0; i < b.readUInt16LE(at + 2); i += 1) {
          elf.versions.push({ file: string(s.link, b.readUInt32LE(at + 4)), name: string(s.link, b.readUInt32LE(aux + 8)) });
          aux += b.readUInt32LE(aux + 12);
        }
        const next = b.readUInt32LE(at + 12);
        if (next === 0) break;
        at += next;
      }
    }
  }
  return elf;
}

/**
 * The GLIBC_ versions a file requires that are newer than `floor` ([2, 28]), and any that is not a
 * release number at all (GLIBC_PRIVATE: no stable interface, so no floor holds for it).
 */
function glibcAbove(elf, [major, minor]) {
  return elf.versions.map((v) => v.name).filter((name) => {
    if (!name.startsWith('GLIBC_')) return false;
    const m = /^GLIBC_(\d+)\.(\d+)(?:\.\d+)?$/.exec(name);
    return !m || Number(m[1]) > major || (Number(m[1]) === major && Number(m[2]) > minor);
  });
}

module.exports = { readElf, glibcAbove, EM_X86_64, EM_AARCH64 };
