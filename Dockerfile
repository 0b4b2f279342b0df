# The case worker (and the escalate CLI) as one image.
FROM python:3.11-slim
# Bytecode is written at install (pip compiles what it installs): the workflow sandbox runs
# the workflow module afresh for every case it opens, and compiling it each time is costly.
ENV PYTHONUNBUFFERED=1
WORKDIR /app
COPY pyproject.toml README.md ./
COPY domain domain
COPY workflows workflows
COPY activities activities
COPY workers workers
COPY starters starters
COPY service service
COPY records records
COPY bench bench
COPY ingress ingress
COPY reports reports
RUN pip install --no-cache-dir . && useradd --create-home --uid 10001 escalate && mkdir /data && chown escalate /data
COPY config config
USER escalate
CMD ["escalate", "worker"]
