# The client image: static binaries only, built by run.sh into dist/.
FROM scratch
COPY dist/goadapter dist/whoami dist/fakebill /
USER 65532:65532
CMD ["/whoami"]
