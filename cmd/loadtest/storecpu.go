package main

import (
	"bufio"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	goredis "github.com/redis/go-redis/v9"
)

// redisCPU returns a reader of the CPU time the Redis server at redisURL
// has used (INFO cpu: used_cpu_sys plus used_cpu_user, its main thread's
// and its I/O threads'), and a func that closes its connection. A gateway
// on Redis spends Redis's CPU on every call, on this machine: the
// harness adds it to the gateway's own (figures.storeCPUPerK). It counts
// whatever else that Redis serves meanwhile, so the harness's Redis
// should serve nothing else while it runs.
func redisCPU(redisURL string) (func() (time.Duration, error), func(), error) {
	opt, err := goredis.ParseURL(redisURL)
	if err != nil {
		return nil, nil, err
	}
	client := goredis.NewClient(opt)
	read := func() (time.Duration, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		info, err := client.Info(ctx, "cpu").Result()
		if err != nil {
			return 0, fmt.Errorf("redis INFO cpu: %w", err)
		}
		return parseRedisCPU(info)
	}
	if _, err := read(); err != nil {
		client.Close()
		return nil, nil, err
	}
	return read, func() { client.Close() }, nil
}

// parseRedisCPU sums used_cpu_sys and used_cpu_user (seconds, as Redis
// prints them) of an INFO cpu answer.
func parseRedisCPU(info string) (time.Duration, error) {
	var total float64
	found := 0
	sc := bufio.NewScanner(strings.NewReader(info))
	for sc.Scan() {
		name, value, ok := strings.Cut(strings.TrimSpace(sc.Text()), ":")
		if !ok || (name != "used_cpu_sys" && name != "used_cpu_user") {
			continue
		}
		secs, err := strconv.ParseFloat(value, 64)
		if err != nil {
			return 0, fmt.Errorf("redis INFO cpu: %s: %w", name, err)
		}
		total += secs
		found++
	}
	if found != 2 {
		return 0, fmt.Errorf("redis INFO cpu: no used_cpu_sys and used_cpu_user in %.100q", info)
	}
	return time.Duration(total * float64(time.Second)), nil
}
