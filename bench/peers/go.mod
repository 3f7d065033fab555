module github.com/jlstore/jlstore/bench/peers

go 1.26.0

require github.com/jlstore/jlstore v0.0.0

require (
	github.com/aristanetworks/gomap v0.0.0-20230726210543-f4e41046dced // indirect
	github.com/kisielk/og-rek v1.3.0 // indirect
	github.com/nlpodyssey/gopickle v0.2.0 // indirect
	golang.org/x/exp v0.0.0-20261113113407-e3970619a1a4 // indirect
)

replace github.com/jlstore/jlstore => ../..
