#!/usr/bin/env bash
# Writes the committed seed corpus, fuzz/seeds/<target>/ (run once; the seeds are in git).
# Needs ../shared/data, python3, gzip, ImageMagick's convert, and the fuzz build (run.sh build).
set -euo pipefail
cd "$(dirname "$0")/.."
S=fuzz/seeds
data=../shared/data
target_dir=${CARGO_TARGET_DIR:-target}
rm -rf "$S"
mkdir -p $S/{idx,csv,model,weights,spec,text,image}

# IDX: MNIST's test labels as published (gzip), and three of its test images, raw.
cp $data/mnist/t10k-labels-idx1-ubyte.gz $S/idx/labels.gz && chmod 644 $S/idx/labels.gz
python3 - "$data/mnist/t10k-images-idx3-ubyte.gz" "$S/idx/images3.idx" <<'PY'
import gzip, struct, sys
raw = gzip.open(sys.argv[1]).read()
open(sys.argv[2], "wb").write(struct.pack(">IIII", 0x803, 3, 28, 28) + raw[16:16 + 3 * 784])
PY

# CSV: heads of real tables, and the quoting and missing-value cases.
head -n 12 $data/titanic/titanic.csv >$S/csv/titanic.csv
head -n 12 $data/sklearn-small/iris.csv >$S/csv/iris.csv
printf 'a,b,c\n1,"x, y",2.5\n2,"say ""hi""",\n3,NaN,inf\n' >$S/csv/quoted.csv

# Specs: the shipped ones that exercise each section.
for s in breast_cancer_ann titanic mnist_gan shakespeare_gru airline_passengers mnist_resnet \
  breast_cancer_search adult_stream adult_multi_output mnist_transfer_5_9; do
  cp specs/$s.toml $S/spec/
done

# Text: the start of tinyshakespeare.
head -c 2000 $data/tinyshakespeare/input.txt >$S/text/shakespeare.txt

# Images: a small PNG (grey and colour) and a JPEG, by Debian's imagemagick (/usr/bin/convert).
/usr/bin/convert -size 12x9 gradient:black-white $S/image/grey.png
/usr/bin/convert -size 10x10 plasma:fractal -seed 1 $S/image/colour.png
/usr/bin/convert -size 16x16 gradient:red-blue -quality 80 $S/image/photo.jpg

# Model and weights files, written by sinew itself (the targets write them when asked).
SINEW_FUZZ_WRITE_SEED=$S/model/small.sinew "$target_dir/debug/fuzz-model"
SINEW_FUZZ_WRITE_SEED=$S/weights/small.safetensors "$target_dir/debug/fuzz-weights"
du -sh $S/*
