#!/bin/bash
# usage: turns.sh NAME NEWBIN  -> B E E B B E
NAME=$1; NEW=$2
i=0
for w in B E E B B E; do
  i=$((i+1))
  if [ $w = B ]; then BIN=/tmp/r13-base/floodgate; else BIN=$NEW; fi
  /tmp/gen/run.sh $BIN $NAME-$i-$w
done
