package herdimage

import (
	"debug/elf"
	"encoding/binary"
	"fmt"
)

// sameArch returns the GOARCH of the binaries at paths, which must all be
// static Linux executables of one architecture: the images have no libc
// and no dynamic loader, where a dynamic binary fails with a bare "no such
// file or directory".
func sameArch(paths ...string) (string, error) {
	var arch, first string
	for _, p := range paths {
		a, err := elfArch(p)
		if err != nil {
			return "", err
		}
		if arch != "" && a != arch {
			return "", fmt.Errorf("%s is for %s but %s is for %s", p, a, first, arch)
		}
		arch, first = a, p
	}
	return arch, nil
}

// elfArch returns the GOARCH of the static ELF executable at path.
func elfArch(path string) (string, error) {
	f, err := elf.Open(path)
	if err != nil {
		return "", fmt.Errorf("%s is not a Linux executable: %w", path, err)
	}
	defer f.Close()
	if f.Type != elf.ET_EXEC && f.Type != elf.ET_DYN {
		return "", fmt.Errorf("%s is not an executable (ELF type %v)", path, f.Type)
	}
	for _, p := range f.Progs {
		if p.Type == elf.PT_INTERP {
			return "", fmt.Errorf("%s is dynamically linked; build it with CGO_ENABLED=0", path)
		}
	}
	little := f.ByteOrder == binary.LittleEndian
	switch {
	case f.Machine == elf.EM_X86_64:
		return "amd64", nil
	case f.Machine == elf.EM_AARCH64:
		return "arm64", nil
	case f.Machine == elf.EM_386:
		return "386", nil
	case f.Machine == elf.EM_ARM:
		return "arm", nil
	case f.Machine == elf.EM_PPC64 && little:
		return "ppc64le", nil
	case f.Machine == elf.EM_S390:
		return "s390x", nil
	case f.Machine == elf.EM_RISCV && f.Class == elf.ELFCLASS64:
		return "riscv64", nil
	}
	return "", fmt.Errorf("%s is for an architecture this command does not know (%v)", path, f.Machine)
}
