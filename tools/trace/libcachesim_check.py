#!/usr/bin/env python3
"""Cross-check of the trace lab against libCacheSim (a development tool, never a runtime
dependency of Outpost: `pip install libcachesim==0.3.5`).

Replays the same `time,key,size` CSV through libCacheSim's LRU and S3-FIFO at the capacities in
bytes the lab used (read from its JSON report), and prints libCacheSim's rows beside the lab's
policy rows, with the difference in points. The lab's LRU must agree within 1 point.

    swift run -c release --package-path tools/trace TraceLab replay \
        --write-csv /tmp/trace.csv --json /tmp/trace.json
    python3 tools/trace/libcachesim_check.py /tmp/trace.csv /tmp/trace.json
"""
import json
import sys

import libcachesim as lcs


def reader(path):
    params = lcs.ReaderInitParam(has_header=True, has_header_set=True, delimiter=",",
                                 obj_id_is_num=True, obj_id_is_num_set=True)
    params.time_field = 1
    params.obj_id_field = 2
    params.obj_size_field = 3
    return lcs.TraceReader(trace=path, trace_type=lcs.TraceType.CSV_TRACE, reader_init_params=params)


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    csv_path, json_path = sys.argv[1], sys.argv[2]
    with open(json_path) as file:
        report = json.load(file)
    lab = {(o["policy"], o["capacityBytes"]): o for o in report["outcomes"] if o["engine"] == "policy"}
    capacities = sorted({(o["capacityBytes"], o["capacityShare"]) for o in lab.values()})
    print(f"trace {report['trace']}: compulsory misses object {report['compulsoryObjectMissRatio']:.4f}, "
          f"byte {report['compulsoryByteMissRatio']:.4f}")
    print(f"{'capacity':<16}{'policy':<9}{'lab object':>11}{'lcs object':>11}{'Δ pts':>7}"
          f"{'lab byte':>10}{'lcs byte':>10}{'Δ pts':>7}")
    worst_lru = 0.0
    for capacity, share in capacities:
        for policy, make in (("lru", lambda c: lcs.LRU(cache_size=c)), ("s3-fifo", lambda c: lcs.S3FIFO(cache_size=c))):
            cache = make(capacity)
            object_miss, byte_miss = cache.process_trace(reader(csv_path))
            mine = lab[(policy, capacity)]
            lab_object = mine["misses"] / mine["requests"]
            lab_byte = mine["missedBytes"] / mine["requestedBytes"]
            delta_object = (lab_object - object_miss) * 100
            delta_byte = (lab_byte - byte_miss) * 100
            if policy == "lru":
                worst_lru = max(worst_lru, abs(delta_object), abs(delta_byte))
            label = f"{share * 100:.0f}% {capacity / 2**20:.1f} MiB"
            print(f"{label:<16}{policy:<9}{lab_object:>11.4f}{object_miss:>11.4f}{delta_object:>+7.2f}"
                  f"{lab_byte:>10.4f}{byte_miss:>10.4f}{delta_byte:>+7.2f}")
    print(f"largest LRU difference: {worst_lru:.2f} points ({'within' if worst_lru <= 1 else 'OUTSIDE'} 1 point)")


if __name__ == "__main__":
    main()
