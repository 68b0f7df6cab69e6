//go:build !linux

package memory

// mapChunk maps no memory outside Linux: chunks are ordinary slices.
func mapChunk(int) ([]byte, bool) { return nil, false }

// unmapChunk has nothing to give back outside Linux.
func unmapChunk([]byte) {}

// chunksOffHeap says chunks are on the Go heap here.
const chunksOffHeap = false
