# The Dockerfile of the bundled sample image (assets/sample.tar):
#   layerlens assets/sample.tar --dockerfile assets/sample.Dockerfile
FROM busybox:base

RUN apt-get update \
 && apt-get install -y --no-install-recommends build-essential python3-dev \
 && echo done
WORKDIR /app
COPY . /app
RUN pip install -r /app/requirements.txt
RUN rm -rf /root/.cache /var/lib/apt/lists/* && chmod +x /app/bin/start.sh
ENV PORT=8000
EXPOSE 8000
CMD ["/app/bin/start.sh"]
