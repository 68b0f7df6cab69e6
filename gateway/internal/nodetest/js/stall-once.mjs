// Test script for nodetest's own tests: a server that stalls on its first
// start. If the file named by STALL_MARKER is absent it creates it and
// then says nothing, forever (as a starved or stuck server would); if the
// file is there it prints its "listening" line at once. STALL_ALWAYS=1
// stalls every time.
import fs from 'node:fs';

const marker = process.env.STALL_MARKER;
if (!marker) {
  console.error('stall-once.mjs: STALL_MARKER is required');
  process.exit(2);
}
if (process.env.STALL_ALWAYS === '1' || !fs.existsSync(marker)) {
  fs.writeFileSync(marker, 'stalled\n');
} else {
  console.log('listening http://127.0.0.1:1');
}
setInterval(() => {}, 1 << 30);
