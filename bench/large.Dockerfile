# "large" bench image: 12 layers (base + 11 RUN), ~1.68 GB, ~64k tar entries,
# with waste (a deleted blob, an overwritten blob, deleted and rewritten small files).
# Built by bench/run.sh with DOCKER_BUILDKIT=0 on top of layerlens-bench/base
# (busybox only: the shell below is busybox ash).
FROM layerlens-bench/base

# 2: 300 MiB random blob (deleted again in layer 6)
RUN mkdir -p /opt/blobs && head -c 314572800 /dev/urandom > /opt/blobs/a.bin

# 3: 16 dirs x 1000 files x 4 KiB (half of them deleted in layer 6)
RUN s=$(head -c 2045 /dev/urandom | od -An -tx1 -v | tr -d ' \n'); d=0; \
    while [ $d -lt 16 ]; do mkdir -p /srv/s1/d$d; i=0; \
      while [ $i -lt 1000 ]; do printf '%06d%s' $i "$s" > /srv/s1/d$d/f$i; i=$((i+1)); done; \
    d=$((d+1)); done

# 4: 280 MiB random blob (overwritten in layer 8)
RUN head -c 293601280 /dev/urandom > /opt/blobs/b.bin

# 5: 16 dirs x 1000 files x 2 KiB (half of them rewritten in layer 11)
RUN s=$(head -c 1021 /dev/urandom | od -An -tx1 -v | tr -d ' \n'); d=0; \
    while [ $d -lt 16 ]; do mkdir -p /srv/s2/d$d; i=0; \
      while [ $i -lt 1000 ]; do printf '%06d%s' $i "$s" > /srv/s2/d$d/f$i; i=$((i+1)); done; \
    d=$((d+1)); done

# 6: delete the first blob and 8 of the 16 small-file dirs of layer 3
RUN rm /opt/blobs/a.bin && rm -r /srv/s1/d0 /srv/s1/d1 /srv/s1/d2 /srv/s1/d3 \
      /srv/s1/d4 /srv/s1/d5 /srv/s1/d6 /srv/s1/d7

# 7: 260 MiB random blob
RUN head -c 272629760 /dev/urandom > /opt/blobs/c.bin

# 8: overwrite the layer-4 blob with 200 MiB of new content
RUN head -c 209715200 /dev/urandom > /opt/blobs/b.bin

# 9: 16 dirs x 1000 files x 4 KiB
RUN s=$(head -c 2045 /dev/urandom | od -An -tx1 -v | tr -d ' \n'); d=0; \
    while [ $d -lt 16 ]; do mkdir -p /srv/s3/d$d; i=0; \
      while [ $i -lt 1000 ]; do printf '%06d%s' $i "$s" > /srv/s3/d$d/f$i; i=$((i+1)); done; \
    d=$((d+1)); done

# 10: 220 MiB random blob
RUN head -c 230686720 /dev/urandom > /opt/blobs/d.bin

# 11: rewrite 8000 files of layer 5 with new content, add 8000 new 2 KiB files
RUN s=$(head -c 1021 /dev/urandom | od -An -tx1 -v | tr -d ' \n'); d=0; \
    while [ $d -lt 8 ]; do mkdir -p /srv/s4/d$d; i=0; \
      while [ $i -lt 1000 ]; do printf 'x%05d%s' $i "$s" > /srv/s2/d$d/f$i; \
        printf '%06d%s' $i "$s" > /srv/s4/d$d/f$i; i=$((i+1)); done; \
    d=$((d+1)); done

# 12: 152 MiB random blob
RUN head -c 159383552 /dev/urandom > /opt/blobs/e.bin

CMD ["/bin/sh"]
