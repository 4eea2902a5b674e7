// Checks a plugin file before the dynamic loader sees it. dlopen trusts a file's headers: it maps
// every segment the program headers name, so a truncated copy (a partial download, a copy onto a full
// disk) dies with SIGBUS when the loader touches a page past the end of the file, and no error is
// ever returned. These checks read the headers themselves and turn such a file into a reason.
//
// Linux: the ELF header (magic, class, byte order, version, type, machine), then that the program
// header table, every segment's file range, the section header table and every section's file
// range lie within the file. macOS: the Mach-O (or universal) header and its load commands and
// segments within the file. Windows: the MZ and PE headers and the section table and sections within
// the file. Other systems: only that the path is a non-empty regular file.
//
// The file can still change between this check and dlopen; the check is for broken installs, not
// for an attacker who can write to the plugin folder (such a one can run code in the process anyway).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace stridekit {

// Empty when `path` looks like a loadable shared library for this process; otherwise a sentence
// that starts with the path and says what is wrong and what to do ("... is truncated or corrupt
// (1000 bytes, its section headers need 1052360 bytes): reinstall or rebuild it").
std::string check_plugin_file(const std::string& path);

// The format checks, compiled on every platform so each can be built and tried anywhere (only the
// host's own format is used by check_plugin_file). They return what is wrong, without the path, or
// an empty string.
struct FileBytes {
  uint64_t size = 0;
  // Reads [offset, offset + bytes) into *out; false when the range cannot be read.
  virtual bool read(uint64_t offset, uint64_t bytes, std::vector<unsigned char>* out) const = 0;
  virtual ~FileBytes() = default;
};

std::string check_elf(const FileBytes& file);    // for the ELF class, byte order and machine of this build
std::string check_macho(const FileBytes& file);  // 64-bit little-endian Mach-O, or a universal binary
std::string check_pe(const FileBytes& file);     // a PE DLL for this build's machine

// Empty when `address` (what dlsym returned for `symbol`) is code that can be called; otherwise what
// it is instead ("a data object (STT_OBJECT), not a function"). A data symbol exported under the
// entry point's name would otherwise be called and crash. Linux only (dladdr1 and the loaded
// segments' permissions); elsewhere always empty.
std::string check_entry_is_function(const void* address, const char* symbol);

}  // namespace stridekit
