# fakebill in an image with nothing else in it.
#
# Build the static binary first, then the image (no base image is pulled):
#
#	CGO_ENABLED=0 go build -o dist/fakebill ./cmd/fakebill
#	docker build -t fakebill .
FROM scratch
COPY dist/fakebill /fakebill
USER 65532:65532
EXPOSE 8080
ENV FAKEBILL_ADDR=:8080
# The check is a loopback GET, cheap enough to run every few seconds, so a
# compose file's depends_on: service_healthy waits seconds, not minutes.
HEALTHCHECK --interval=5s --timeout=3s --start-period=5s --retries=3 \
	CMD ["/fakebill", "health"]
ENTRYPOINT ["/fakebill"]
