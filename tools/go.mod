// tools/ holds the Node tools (node_modules, some of whose packages ship Go
// template files): this file keeps it out of the orgscan module, so that
// ./... never walks it.
module orgscan-tools

go 1.26
