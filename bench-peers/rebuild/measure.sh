#!/bin/bash
# Release rebuilds after a one-line edit, with and without the macro,
# interleaved, 5 rounds: `bash bench-peers/rebuild/measure.sh`.
set -e
cd "$(dirname "$0")"
for mode in macro plain; do
  flag=""; [ $mode = macro ] && flag="--features macro"
  cargo build -q --release $flag
done
for round in 1 2 3 4 5; do
  for mode in macro plain; do
    flag=""; [ $mode = macro ] && flag="--features macro"
    sed -i "s/let k = [0-9.]*; \/\/ EDIT/let k = 0.$RANDOM; \/\/ EDIT/" src/main.rs
    start=$(date +%s.%N); cargo build -q --release $flag; end=$(date +%s.%N)
    echo "$mode $(echo "$end - $start" | bc)"
  done
done
sed -i "s/let k = [0-9.]*; \/\/ EDIT/let k = 0.1; \/\/ EDIT/" src/main.rs
