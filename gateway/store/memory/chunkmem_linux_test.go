//go:build linux

package memory

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"testing"
	"unsafe"
)

// TestChunkNoHugePages: a mapped chunk's memory is marked not to be made
// of transparent huge pages ("nh" in its VmFlags), so that untouched
// pages of its reservation never become resident.
func TestChunkNoHugePages(t *testing.T) {
	c := newChunk(0)
	defer c.free()
	if !c.mapped {
		t.Skip("the kernel refused the mapping: the chunk is on the heap")
	}
	if _, err := os.Stat("/sys/kernel/mm/transparent_hugepage"); err != nil {
		t.Skip("a kernel without transparent huge pages: nothing to advise against")
	}
	addr := uintptr(unsafe.Pointer(unsafe.SliceData(c.mem)))
	f, err := os.Open("/proc/self/smaps")
	if err != nil {
		t.Skip(err)
	}
	defer f.Close()
	in := false
	for sc := bufio.NewScanner(f); sc.Scan(); {
		line := sc.Text()
		var lo, hi uintptr
		if n, _ := fmt.Sscanf(line, "%x-%x", &lo, &hi); n == 2 && strings.Contains(line, " ") {
			in = lo <= addr && addr < hi
			continue
		}
		if flags, ok := strings.CutPrefix(line, "VmFlags:"); ok && in {
			if !strings.Contains(" "+flags+" ", " nh ") {
				t.Fatalf("the chunk's mapping may be made of huge pages: VmFlags%s", flags)
			}
			return
		}
	}
	t.Fatal("the chunk's mapping is not in /proc/self/smaps")
}
