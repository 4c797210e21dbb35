# rulebank API and worker image (the same image; the command picks the role).
FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY dsl dsl
COPY store store
COPY services services
COPY config config
COPY api api
COPY cli cli
COPY workflows workflows
COPY activities activities
COPY templates templates
COPY rulesets rulesets
RUN pip install --no-cache-dir . && useradd --system rulebank
USER rulebank
EXPOSE 8000
CMD ["rulebank", "api", "--host", "0.0.0.0", "--port", "8000"]
