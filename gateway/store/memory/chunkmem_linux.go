//go:build linux

package memory

import "golang.org/x/sys/unix"

// mapChunk returns n bytes of zeroed anonymous memory outside the Go heap,
// or false if the kernel refuses them (the caller then uses the heap).
// Only the pages written to become resident: the mapping is kept out of
// transparent huge pages, which under THP "always" would make a 2 MB
// range of chunks resident, the pages no record reached included.
func mapChunk(n int) ([]byte, bool) {
	m, err := unix.Mmap(-1, 0, n, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_ANON|unix.MAP_PRIVATE)
	if err != nil {
		return nil, false
	}
	_ = unix.Madvise(m, unix.MADV_NOHUGEPAGE) // advice: a kernel without THP refuses it, and nothing changes
	return m, true
}

// unmapChunk gives back memory mapChunk returned, whole. The memory must
// not be read again.
func unmapChunk(m []byte) {
	_ = unix.Munmap(m) // fails only for memory mapChunk did not return
}

// chunksOffHeap says chunks are mapped outside the Go heap here.
const chunksOffHeap = true
