#include "core/plugin_file.h"

#include <sys/stat.h>
#include <sys/types.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <limits>

#if defined(__linux__)
#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#endif

namespace stridekit {

namespace {

// What to do about a file that is not a usable plugin: the same words everywhere.
constexpr const char* kReinstall = "reinstall or rebuild it";

constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();

// a + b and a * b, saturating: a corrupt header may hold any value, and the sum must not wrap
// around into something that looks in range.
uint64_t add(uint64_t a, uint64_t b) { return a > kMax - b ? kMax : a + b; }
uint64_t mul(uint64_t a, uint64_t b) { return b != 0 && a > kMax / b ? kMax : a * b; }

// Little- or big-endian unsigned integers at an offset of a buffer known to be long enough.
uint64_t get(const std::vector<unsigned char>& b, size_t at, int bytes, bool big_endian) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) {
    const int shift = 8 * (big_endian ? bytes - 1 - i : i);
    v |= uint64_t{b[at + i]} << shift;
  }
  return v;
}

std::string number(uint64_t n) { return std::to_string(n); }

// "it starts with 'not an ELF file'" or "it starts with 0x00 0x13 0xa7 0x22": a file that is not a
// library often is something recognisable, such as an HTML error page saved by a failed download.
std::string first_bytes(const FileBytes& file) {
  std::vector<unsigned char> head;
  const uint64_t n = std::min<uint64_t>(file.size, 24);
  if (!file.read(0, n, &head)) return "its first bytes cannot be read";
  size_t printable = 0;
  while (printable < head.size() && std::isprint(head[printable])) ++printable;
  if (printable >= 4) {
    std::string text(head.begin(), head.begin() + static_cast<std::ptrdiff_t>(printable));
    return "it starts with '" + text + (printable < file.size ? "...'" : "'");
  }
  std::string hex = "it starts with";
  for (size_t i = 0; i < std::min<size_t>(head.size(), 4); ++i) {
    char byte[8];
    std::snprintf(byte, sizeof(byte), " 0x%02x", head[i]);
    hex += byte;
  }
  return hex;
}

// The largest end offset some header says the file reaches, and what says so, with its verb
// ("section headers need").
struct Need {
  uint64_t end = 0;
  const char* what = "";
  void at_least(uint64_t e, const char* w) {
    if (e > end) {
      end = e;
      what = w;
    }
  }
};

std::string truncated(uint64_t size, const Need& need) {
  return "is truncated or corrupt (" + number(size) + " bytes, its " + need.what + " " +
         number(need.end) + " bytes): " + kReinstall;
}

// ---------------------------------------------------------------------------------------- ELF ----

// This build's ELF class, byte order and machine: what a plugin must match to load here.
constexpr int kElfClass = sizeof(void*) == 8 ? 2 : 1;  // ELFCLASS64 : ELFCLASS32
#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_BIG_ENDIAN__
constexpr bool kBigEndian = true;
#else
constexpr bool kBigEndian = false;
#endif
#if defined(__x86_64__)
constexpr unsigned kElfMachine = 62;  // EM_X86_64
#elif defined(__aarch64__)
constexpr unsigned kElfMachine = 183;  // EM_AARCH64
#elif defined(__i386__)
constexpr unsigned kElfMachine = 3;  // EM_386
#elif defined(__arm__)
constexpr unsigned kElfMachine = 40;  // EM_ARM
#elif defined(__riscv)
constexpr unsigned kElfMachine = 243;  // EM_RISCV
#elif defined(__powerpc64__)
constexpr unsigned kElfMachine = 21;  // EM_PPC64
#elif defined(__s390x__)
constexpr unsigned kElfMachine = 22;  // EM_S390
#elif defined(__loongarch__)
constexpr unsigned kElfMachine = 258;  // EM_LOONGARCH
#else
constexpr unsigned kElfMachine = 0;  // unknown here: the machine is left to the dynamic loader
#endif

std::string elf_machine_name(unsigned machine) {
  switch (machine) {
    case 3: return "x86 (32-bit)";
    case 8: return "MIPS";
    case 20: return "PowerPC";
    case 21: return "PowerPC 64";
    case 22: return "s390";
    case 40: return "ARM (32-bit)";
    case 62: return "x86-64";
    case 183: return "AArch64 (arm64)";
    case 243: return "RISC-V";
    case 258: return "LoongArch";
    default: return "ELF machine " + number(machine);
  }
}

std::string elf_type_name(unsigned type) {
  switch (type) {
    case 0: return "an ELF file of no type";
    case 1: return "a relocatable object file (.o)";
    case 2: return "an executable";
    case 4: return "a core dump";
    default: return "an ELF file of type " + number(type);
  }
}

}  // namespace

std::string check_elf(const FileBytes& file) {
  std::vector<unsigned char> h;
  const uint64_t head = std::min<uint64_t>(file.size, 64);
  if (!file.read(0, head, &h)) return "cannot be read";
  if (h.size() < 4 || h[0] != 0x7f || h[1] != 'E' || h[2] != 'L' || h[3] != 'F') {
    return "is not a shared library (no ELF header: " + first_bytes(file) + "): " + kReinstall;
  }
  const bool is64 = kElfClass == 2;
  const uint64_t ehdr_size = is64 ? 64 : 52;
  if (h.size() < 16) {
    Need need;
    need.at_least(ehdr_size, "ELF header needs");
    return truncated(file.size, need);
  }
  if (h[4] != kElfClass) {
    if (h[4] != 1 && h[4] != 2) return "is corrupt (ELF class " + number(h[4]) + "): " + kReinstall;
    return std::string("is a ") + (h[4] == 2 ? "64" : "32") + "-bit library, but this process is " +
           (is64 ? "64" : "32") + "-bit: install the plugin built for this platform";
  }
  if (h[5] != (kBigEndian ? 2 : 1)) {
    if (h[5] != 1 && h[5] != 2) return "is corrupt (ELF byte order " + number(h[5]) + "): " + kReinstall;
    return std::string("is a ") + (h[5] == 2 ? "big" : "little") +
           "-endian library, but this process is " + (kBigEndian ? "big" : "little") +
           "-endian: install the plugin built for this platform";
  }
  if (h[6] != 1) return "is corrupt (ELF version " + number(h[6]) + "): " + kReinstall;
  if (h.size() < ehdr_size) {
    Need need;
    need.at_least(ehdr_size, "ELF header needs");
    return truncated(file.size, need);
  }
  const bool be = kBigEndian;
  const unsigned type = static_cast<unsigned>(get(h, 16, 2, be));
  const unsigned machine = static_cast<unsigned>(get(h, 18, 2, be));
  const uint64_t phoff = get(h, is64 ? 32 : 28, is64 ? 8 : 4, be);
  const uint64_t shoff = get(h, is64 ? 40 : 32, is64 ? 8 : 4, be);
  const uint64_t phentsize = get(h, is64 ? 54 : 42, 2, be);
  uint64_t phnum = get(h, is64 ? 56 : 44, 2, be);
  const uint64_t shentsize = get(h, is64 ? 58 : 46, 2, be);
  uint64_t shnum = get(h, is64 ? 60 : 48, 2, be);
  const uint64_t phdr_size = is64 ? 56 : 32;
  const uint64_t shdr_size = is64 ? 64 : 40;

  if (type != 3) {  // ET_DYN
    return "is " + elf_type_name(type) + ", not a shared library: " + kReinstall;
  }
  if (kElfMachine != 0 && machine != kElfMachine) {
    return "is built for " + elf_machine_name(machine) + ", but this process runs on " +
           elf_machine_name(kElfMachine) + ": install the plugin built for this platform";
  }

  Need need;
  // Section header 0 holds the real counts when they do not fit the ELF header (PN_XNUM, and
  // e_shnum 0 with a section header table).
  std::vector<unsigned char> section0;
  if (shoff != 0) {
    if (shentsize != shdr_size) {
      return "is corrupt (section header size " + number(shentsize) + ", expected " +
             number(shdr_size) + "): " + kReinstall;
    }
    need.at_least(add(shoff, shdr_size), "section headers need");
    if (add(shoff, shdr_size) <= file.size && file.read(shoff, shdr_size, &section0)) {
      if (shnum == 0) shnum = get(section0, is64 ? 32 : 20, is64 ? 8 : 4, be);  // sh_size
      if (phnum == 0xffff) phnum = get(section0, is64 ? 44 : 28, 4, be);        // sh_info
    }
    need.at_least(add(shoff, mul(shnum, shdr_size)), "section headers need");
  }
  if (phnum == 0) return "has no program headers, so it is not a shared library: " + std::string(kReinstall);
  if (phentsize != phdr_size) {
    return "is corrupt (program header size " + number(phentsize) + ", expected " +
           number(phdr_size) + "): " + kReinstall;
  }
  const uint64_t phtable_end = add(phoff, mul(phnum, phdr_size));
  need.at_least(phtable_end, "program headers need");

  // Every segment's bytes in the file: the dynamic loader maps them, and a page mapped past the end
  // of the file is a SIGBUS when touched.
  bool has_load = false, has_dynamic = false;
  std::vector<unsigned char> ph;
  if (phtable_end <= file.size && file.read(phoff, phnum * phdr_size, &ph)) {
    for (uint64_t i = 0; i < phnum; ++i) {
      const size_t at = static_cast<size_t>(i * phdr_size);
      const uint64_t p_type = get(ph, at, 4, be);
      const uint64_t p_offset = get(ph, at + (is64 ? 8 : 4), is64 ? 8 : 4, be);
      const uint64_t p_filesz = get(ph, at + (is64 ? 32 : 16), is64 ? 8 : 4, be);
      if (p_type == 1) has_load = true;     // PT_LOAD
      if (p_type == 2) has_dynamic = true;  // PT_DYNAMIC
      if (p_filesz != 0) need.at_least(add(p_offset, p_filesz), "program headers need");
    }
  }
  // Sections outside the segments (symbol tables, debug information) are not mapped, but a file cut
  // short there is as broken as any other: its section header table, at the end, is gone too.
  constexpr uint64_t kMaxSections = uint64_t{1} << 20;
  std::vector<unsigned char> sh;
  if (shoff != 0 && shnum <= kMaxSections && add(shoff, mul(shnum, shdr_size)) <= file.size &&
      file.read(shoff, shnum * shdr_size, &sh)) {
    for (uint64_t i = 0; i < shnum; ++i) {
      const size_t at = static_cast<size_t>(i * shdr_size);
      const uint64_t sh_type = get(sh, at + 4, 4, be);
      const uint64_t sh_offset = get(sh, at + (is64 ? 24 : 16), is64 ? 8 : 4, be);
      const uint64_t sh_size = get(sh, at + (is64 ? 32 : 20), is64 ? 8 : 4, be);
      if (sh_type != 0 && sh_type != 8 && sh_size != 0) {  // not SHT_NULL, not SHT_NOBITS
        need.at_least(add(sh_offset, sh_size), "sections need");
      }
    }
  }
  if (need.end > file.size) return truncated(file.size, need);
  if (!has_load || !has_dynamic) {
    return std::string("has no ") + (has_load ? "dynamic section" : "loadable segment") +
           ", so it is not a shared library: " + kReinstall;
  }
  return "";
}

// ------------------------------------------------------------------------------------- Mach-O ----

namespace {

#if defined(__aarch64__) || defined(__arm64__)
constexpr uint64_t kMachCpu = 0x0100000c;  // CPU_TYPE_ARM64
#elif defined(__x86_64__)
constexpr uint64_t kMachCpu = 0x01000007;  // CPU_TYPE_X86_64
#else
constexpr uint64_t kMachCpu = 0;
#endif

std::string mach_cpu_name(uint64_t cpu) {
  switch (cpu) {
    case 0x0100000c: return "arm64";
    case 0x01000007: return "x86_64";
    case 7: return "i386";
    case 12: return "arm";
    default: return "CPU type " + number(cpu);
  }
}

// A window onto part of a file: one slice of a universal binary.
struct Slice : FileBytes {
  const FileBytes& whole;
  uint64_t offset;
  Slice(const FileBytes& w, uint64_t o, uint64_t s) : whole(w), offset(o) { size = s; }
  bool read(uint64_t at, uint64_t bytes, std::vector<unsigned char>* out) const override {
    return add(at, bytes) <= size && whole.read(offset + at, bytes, out);
  }
};

std::string check_thin_macho(const FileBytes& file) {
  std::vector<unsigned char> h;
  if (file.size < 32 || !file.read(0, 32, &h)) {
    Need need;
    need.at_least(32, "Mach-O header needs");
    return truncated(file.size, need);
  }
  const uint64_t magic = get(h, 0, 4, false);
  if (magic == 0xfeedface) return "is a 32-bit library, but this process is 64-bit: install the plugin built for this platform";
  if (magic != 0xfeedfacf) return "is corrupt (Mach-O magic " + number(magic) + "): " + kReinstall;
  const uint64_t cpu = get(h, 4, 4, false);
  const uint64_t filetype = get(h, 12, 4, false);
  const uint64_t ncmds = get(h, 16, 4, false);
  const uint64_t sizeofcmds = get(h, 20, 4, false);
  if (kMachCpu != 0 && cpu != kMachCpu) {
    return "is built for " + mach_cpu_name(cpu) + ", but this process runs on " +
           mach_cpu_name(kMachCpu) + ": install the plugin built for this platform";
  }
  if (filetype != 6 && filetype != 8) {  // MH_DYLIB, MH_BUNDLE
    return "is a Mach-O file of type " + number(filetype) + ", not a library: " + kReinstall;
  }
  Need need;
  need.at_least(add(32, sizeofcmds), "load commands need");
  std::vector<unsigned char> cmds;
  if (need.end <= file.size && file.read(32, sizeofcmds, &cmds)) {
    uint64_t at = 0;
    for (uint64_t i = 0; i < ncmds; ++i) {
      if (add(at, 8) > sizeofcmds) return "is corrupt (its load commands overrun their size): " + std::string(kReinstall);
      const uint64_t cmd = get(cmds, static_cast<size_t>(at), 4, false);
      const uint64_t cmdsize = get(cmds, static_cast<size_t>(at) + 4, 4, false);
      if (cmdsize < 8 || add(at, cmdsize) > sizeofcmds) {
        return "is corrupt (its load commands overrun their size): " + std::string(kReinstall);
      }
      if (cmd == 0x19 && cmdsize >= 56) {  // LC_SEGMENT_64: fileoff at 40, filesize at 48
        const uint64_t fileoff = get(cmds, static_cast<size_t>(at) + 40, 8, false);
        const uint64_t filesize = get(cmds, static_cast<size_t>(at) + 48, 8, false);
        if (filesize != 0) need.at_least(add(fileoff, filesize), "segments need");
      }
      at += cmdsize;
    }
  }
  return need.end > file.size ? truncated(file.size, need) : "";
}

}  // namespace

std::string check_macho(const FileBytes& file) {
  std::vector<unsigned char> h;
  if (!file.read(0, std::min<uint64_t>(file.size, 8), &h)) return "cannot be read";
  const uint64_t be_magic = h.size() >= 4 ? get(h, 0, 4, true) : 0;
  const uint64_t le_magic = h.size() >= 4 ? get(h, 0, 4, false) : 0;
  if (be_magic == 0xcafebabe || be_magic == 0xcafebabf) {  // a universal binary: one slice per CPU
    const bool fat64 = be_magic == 0xcafebabf;
    const uint64_t entry = fat64 ? 32 : 20;
    if (h.size() < 8) {
      Need need;
      need.at_least(8, "universal header needs");
      return truncated(file.size, need);
    }
    const uint64_t count = get(h, 4, 4, true);
    Need need;
    need.at_least(add(8, mul(count, entry)), "universal header needs");
    if (need.end > file.size) return truncated(file.size, need);
    std::vector<unsigned char> arch;
    if (!file.read(8, count * entry, &arch)) return "cannot be read";
    std::string result = "has no slice for " + mach_cpu_name(kMachCpu) +
                         ": install the plugin built for this platform";
    for (uint64_t i = 0; i < count; ++i) {
      const size_t at = static_cast<size_t>(i * entry);
      const uint64_t cpu = get(arch, at, 4, true);
      const uint64_t offset = get(arch, at + 8, fat64 ? 8 : 4, true);
      const uint64_t size = get(arch, at + (fat64 ? 16 : 12), fat64 ? 8 : 4, true);
      need.at_least(add(offset, size), "slices need");
      if (cpu == kMachCpu && add(offset, size) <= file.size) result = check_thin_macho(Slice(file, offset, size));
    }
    return need.end > file.size ? truncated(file.size, need) : result;
  }
  if (le_magic == 0xfeedfacf || le_magic == 0xfeedface) return check_thin_macho(file);
  return "is not a shared library (no Mach-O header: " + first_bytes(file) + "): " + kReinstall;
}

// ----------------------------------------------------------------------------------------- PE ----

namespace {

#if defined(_M_ARM64) || defined(__aarch64__)
constexpr uint64_t kPeMachine = 0xaa64;
#elif defined(_M_X64) || defined(__x86_64__)
constexpr uint64_t kPeMachine = 0x8664;
#elif defined(_M_IX86) || defined(__i386__)
constexpr uint64_t kPeMachine = 0x14c;
#else
constexpr uint64_t kPeMachine = 0;
#endif

std::string pe_machine_name(uint64_t machine) {
  switch (machine) {
    case 0xaa64: return "arm64";
    case 0x8664: return "x64";
    case 0x14c: return "x86 (32-bit)";
    default: return "machine " + number(machine);
  }
}

}  // namespace

std::string check_pe(const FileBytes& file) {
  std::vector<unsigned char> h;
  if (!file.read(0, std::min<uint64_t>(file.size, 64), &h)) return "cannot be read";
  if (h.size() < 2 || h[0] != 'M' || h[1] != 'Z') {
    return "is not a DLL (no MZ header: " + first_bytes(file) + "): " + kReinstall;
  }
  Need need;
  need.at_least(64, "DOS header needs");
  if (h.size() < 64) return truncated(file.size, need);
  const uint64_t pe = get(h, 0x3c, 4, false);
  need.at_least(add(pe, 24), "PE header needs");
  std::vector<unsigned char> coff;
  if (need.end > file.size) return truncated(file.size, need);
  if (!file.read(pe, 24, &coff)) return "cannot be read";
  if (coff[0] != 'P' || coff[1] != 'E' || coff[2] != 0 || coff[3] != 0) {
    return "is not a DLL (no PE signature): " + std::string(kReinstall);
  }
  const uint64_t machine = get(coff, 4, 2, false);
  const uint64_t sections = get(coff, 6, 2, false);
  const uint64_t optional = get(coff, 20, 2, false);
  const uint64_t characteristics = get(coff, 22, 2, false);
  if (kPeMachine != 0 && machine != kPeMachine) {
    return "is built for " + pe_machine_name(machine) + ", but this process runs on " +
           pe_machine_name(kPeMachine) + ": install the plugin built for this platform";
  }
  if (!(characteristics & 0x2000)) return "is a program, not a DLL: " + std::string(kReinstall);
  const uint64_t table = add(add(pe, 24), optional);
  need.at_least(add(table, mul(sections, 40)), "section headers need");
  std::vector<unsigned char> st;
  if (need.end <= file.size && file.read(table, sections * 40, &st)) {
    for (uint64_t i = 0; i < sections; ++i) {
      const size_t at = static_cast<size_t>(i * 40);
      const uint64_t raw_size = get(st, at + 16, 4, false);
      const uint64_t raw_offset = get(st, at + 20, 4, false);
      if (raw_size != 0) need.at_least(add(raw_offset, raw_size), "sections need");
    }
  }
  return need.end > file.size ? truncated(file.size, need) : "";
}

// ------------------------------------------------------------------------------- the file ----

namespace {

struct DiskFile : FileBytes {
  mutable std::ifstream in;
  explicit DiskFile(const std::string& path) : in(path, std::ios::binary) {}
  bool read(uint64_t offset, uint64_t bytes, std::vector<unsigned char>* out) const override {
    if (add(offset, bytes) > size) return false;
    out->assign(static_cast<size_t>(bytes), 0);
    if (bytes == 0) return true;
    in.clear();
    in.seekg(static_cast<std::streamoff>(offset));
    in.read(reinterpret_cast<char*>(out->data()), static_cast<std::streamsize>(bytes));
    return static_cast<uint64_t>(in.gcount()) == bytes;
  }
};

}  // namespace

std::string check_plugin_file(const std::string& path) {
#if defined(_WIN32)
  struct _stat64 st;
  const bool found = _stat64(path.c_str(), &st) == 0;
  const bool regular = found && (st.st_mode & _S_IFMT) == _S_IFREG;
  const bool directory = found && (st.st_mode & _S_IFMT) == _S_IFDIR;
#else
  struct stat st;
  const bool found = stat(path.c_str(), &st) == 0;
  const bool regular = found && S_ISREG(st.st_mode);
  const bool directory = found && S_ISDIR(st.st_mode);
#endif
  if (!found) return path + " cannot be read: " + std::strerror(errno);
  if (directory) return path + " is a directory, not a shared library: remove or rename it";
  if (!regular) return path + " is not a regular file: remove or replace it";
  if (st.st_size == 0) return path + " is empty (0 bytes): " + kReinstall;
  DiskFile file(path);
  if (!file.in) return path + " cannot be read: " + std::strerror(errno);
  file.size = static_cast<uint64_t>(st.st_size);
#if defined(__linux__)
  std::string problem = check_elf(file);
#elif defined(__APPLE__)
  std::string problem = check_macho(file);
#elif defined(_WIN32)
  std::string problem = check_pe(file);
#else
  std::string problem;  // no format check on this system: the dynamic loader is trusted
#endif
  return problem.empty() ? problem : path + " " + problem;
}

// --------------------------------------------------------------------------- the entry point ----

#if defined(__linux__)
namespace {

struct CodeSearch {
  uintptr_t address;
  bool executable = false;
};

// Whether `address` lies in an executable segment of any loaded object.
int find_code(struct dl_phdr_info* info, size_t, void* data) {
  auto* search = static_cast<CodeSearch*>(data);
  for (int i = 0; i < info->dlpi_phnum; ++i) {
    const auto& ph = info->dlpi_phdr[i];
    if (ph.p_type != PT_LOAD) continue;
    const uintptr_t begin = info->dlpi_addr + ph.p_vaddr;
    if (search->address >= begin && search->address - begin < ph.p_memsz) {
      search->executable = (ph.p_flags & PF_X) != 0;
      return 1;
    }
  }
  return 0;
}

std::string symbol_type_name(unsigned type) {
  switch (type) {
    case STT_NOTYPE: return "a symbol of no type (STT_NOTYPE)";
    case STT_OBJECT: return "a data object (STT_OBJECT)";
    case STT_SECTION: return "a section (STT_SECTION)";
    case STT_FILE: return "a file name (STT_FILE)";
    case STT_COMMON: return "a common data block (STT_COMMON)";
    case STT_TLS: return "thread-local data (STT_TLS)";
    default: return "a symbol of type " + std::to_string(type);
  }
}

}  // namespace
#endif

std::string check_entry_is_function(const void* address, const char* symbol) {
  (void)symbol;
#if defined(__linux__)
#if defined(__GLIBC__)
  // The symbol's own type, from the dynamic symbol table (dladdr1 finds the symbol that covers the
  // address; an ifunc's resolved address may be covered by another symbol or none).
  Dl_info info{};
  void* entry = nullptr;
  if (dladdr1(address, &info, &entry, RTLD_DL_SYMENT) && entry && info.dli_sname &&
      std::strcmp(info.dli_sname, symbol) == 0) {
    const unsigned type = static_cast<const ElfW(Sym)*>(entry)->st_info & 0xf;  // ELF64_ST_TYPE
    if (type != STT_FUNC && type != STT_GNU_IFUNC) return "is " + symbol_type_name(type) + ", not a function";
  }
#endif
  // Whatever the symbol says, a call must land in code: data in a writable or read-only segment
  // would be executed (and crash the process) otherwise.
  CodeSearch search{reinterpret_cast<uintptr_t>(address)};
  if (!dl_iterate_phdr(find_code, &search) || !search.executable) {
    return "points outside the library's code, not to a function";
  }
#else
  (void)address;
#endif
  return "";
}

}  // namespace stridekit
