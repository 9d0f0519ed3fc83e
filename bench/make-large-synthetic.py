#!/usr/bin/env python3
# A synthetic large-file docker-save archive (6 layers of 2 x 140 MB random files and
# 2 000 small files, 1.8 GB) for measuring the cost of layer verification without Docker.
# usage: bench/make-large-synthetic.py OUT.tar
import tarfile, io, os, json, hashlib, sys
out = sys.argv[1]; nl = 6; per = 280 << 20
layers = []
os.makedirs('/tmp/lg', exist_ok=True)
for i in range(nl):
    p = f'/tmp/lg/l{i}.tar'
    with tarfile.open(p, 'w', format=tarfile.GNU_FORMAT) as t:
        for j in range(2):
            data = os.urandom(per // 2)
            ti = tarfile.TarInfo(f'data/l{i}/f{j}.bin'); ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
        for j in range(2000):
            data = os.urandom(3000)
            ti = tarfile.TarInfo(f'small/l{i}/s{j}'); ti.size = len(data)
            t.addfile(ti, io.BytesIO(data))
    h = hashlib.sha256(open(p, 'rb').read()).hexdigest()
    layers.append((p, h))
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": ["sha256:" + h for _, h in layers]},
                  "history": [{"created_by": f"RUN layer {i}"} for i in range(nl)]}).encode()
ch = hashlib.sha256(cfg).hexdigest()
man = json.dumps([{"Config": ch + ".json", "RepoTags": ["large:1"], "Layers": [h + "/layer.tar" for _, h in layers]}]).encode()
with tarfile.open(out, 'w') as t:
    for p, h in layers:
        t.add(p, arcname=h + '/layer.tar')
    for name, data in [(ch + '.json', cfg), ('manifest.json', man)]:
        ti = tarfile.TarInfo(name); ti.size = len(data); t.addfile(ti, io.BytesIO(data))
